# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""An in-memory Nova + Placement for the ``informed_migrate`` tests.

Real Nova and Placement cannot run in the unit and functional suites (the
end-to-end suite, ``tools/stack``, runs the real ones).  This stand-in
answers exactly the calls the plugin and Watcher's ``Migrate`` action
make, with openstacksdk's names: ``compute.get_server`` (raising
``NotFoundException``), ``compute.hypervisors(details,
hypervisor_hostname_pattern, with_servers)``, ``compute.get_server_group``,
``compute.server_groups``, ``placement.get(path)`` for inventories, usages
and allocations; and Watcher's ``NovaHelper.find_instance`` /
``live_migrate_instance``.  A live migration claims the destination in
Placement at its start (refused, as Nova's scheduler does, when the room
is not there) and releases the source at its end; :attr:`peak` keeps the
highest allocation each host ever reached.  Thread-safe (the applier runs
actions in threads).
"""

import threading
import time
import types
import uuid as uuid_mod

from openstack import exceptions as sdk_exc

RC = ('VCPU', 'MEMORY_MB', 'DISK_GB')


def _uid(text):
    return str(uuid_mod.uuid5(uuid_mod.NAMESPACE_URL, text))


class _Resp:
    def __init__(self, status, body):
        self.status_code = status
        self._body = body

    def json(self):
        return self._body


class FakeCloud:
    def __init__(self, migration_s=0.02):
        self.lock = threading.RLock()
        self.hosts = {}
        self.servers = {}
        self.groups = {}
        #: instance uuids whose live migration Nova refuses.
        self.refuse = set()
        self.migrations = []        # (uuid, source, dest, ok)
        self.peak = {}
        self.calls = []
        self.migration_s = migration_s
        self.compute = types.SimpleNamespace(
            get_server=self.get_server, hypervisors=self.hypervisors,
            get_server_group=self.get_server_group,
            server_groups=self.list_server_groups)
        self.placement = types.SimpleNamespace(get=self.placement_get)

    # -- building ----------------------------------------------------------
    def host(self, name, vcpus, ram_mb, disk_gb, reserved=(0, 0, 0),
             ratios=(1.0, 1.0, 1.0), state='up', status='enabled'):
        self.hosts[name] = dict(id=_uid('rp-' + name), total=(
            vcpus, ram_mb, disk_gb), reserved=reserved, ratios=ratios,
            state=state, status=status, claims={})
        return self

    def server(self, uuid, name, host, vcpus, ram_mb, disk_gb,
               status='ACTIVE', locked=False):
        self.servers[uuid] = dict(name=name, host=host, size=(
            vcpus, ram_mb, disk_gb), status=status, locked=locked)
        self.hosts[host]['claims'][uuid] = (vcpus, ram_mb, disk_gb)
        self._note_peak(host)
        return self

    def group(self, gid, policy, members, name=''):
        self.groups[gid] = dict(policy=policy, members=list(members),
                                name=name)
        return self

    @classmethod
    def from_model(cls, model, **kw):
        """The hosts and servers of a Watcher compute model."""
        cloud = cls(**kw)
        for node in model.get_all_compute_nodes().values():
            cloud.host(node.hostname, node.vcpus, node.memory, node.disk,
                       (node.vcpu_reserved, node.memory_mb_reserved,
                        node.disk_gb_reserved),
                       (node.vcpu_ratio, node.memory_ratio,
                        node.disk_ratio),
                       state=node.state, status=node.status)
        for inst in model.get_all_instances().values():
            node = model.get_node_by_instance_uuid(inst.uuid)
            cloud.server(inst.uuid, inst.name, node.hostname, inst.vcpus,
                         inst.memory, inst.disk)
        return cloud

    # -- state ---------------------------------------------------------------
    def capacity(self, host):
        h = self.hosts[host]
        return tuple((t - r) * a for t, r, a in zip(h['total'],
                                                    h['reserved'],
                                                    h['ratios']))

    def used(self, host):
        claims = self.hosts[host]['claims'].values()
        return tuple(sum(c[k] for c in claims) for k in range(3))

    def _note_peak(self, host):
        used = self.used(host)
        old = self.peak.get(host, (0, 0, 0))
        self.peak[host] = tuple(max(a, b) for a, b in zip(old, used))

    def over_capacity(self):
        """Hosts whose allocation ever exceeded their capacity."""
        return sorted(h for h, peak in self.peak.items()
                      if any(p > c + 1e-9 for p, c in
                             zip(peak, self.capacity(h))))

    def where(self):
        return {u: s['host'] for u, s in self.servers.items()}

    # -- openstacksdk compute proxy -----------------------------------------
    def get_server(self, uuid):
        with self.lock:
            self.calls.append(('get_server', uuid))
            s = self.servers.get(uuid)
            if s is None:
                raise sdk_exc.NotFoundException('server %s' % uuid)
            vcpus, ram, disk = s['size']
            return types.SimpleNamespace(
                id=uuid, name=s['name'], compute_host=s['host'],
                status=s['status'], is_locked=s['locked'],
                flavor={'vcpus': vcpus, 'ram': ram, 'disk': disk},
                server_groups=sorted(g for g, v in self.groups.items()
                                     if uuid in v['members']))

    def hypervisors(self, details=False, hypervisor_hostname_pattern=None,
                    with_servers=False):
        with self.lock:
            self.calls.append(('hypervisors', hypervisor_hostname_pattern))
            out = []
            for name, h in sorted(self.hosts.items()):
                if hypervisor_hostname_pattern and \
                        hypervisor_hostname_pattern not in name:
                    continue
                servers = [{'uuid': u, 'name': s['name']}
                           for u, s in sorted(self.servers.items())
                           if s['host'] == name] if with_servers else None
                out.append(types.SimpleNamespace(
                    id=h['id'], name=name, state=h['state'],
                    status=h['status'], service_details={'host': name},
                    servers=servers))
            return out

    def _group(self, gid):
        g = self.groups[gid]
        return types.SimpleNamespace(id=gid, name=g['name'],
                                     policy=g['policy'],
                                     member_ids=list(g['members']))

    def get_server_group(self, gid):
        with self.lock:
            self.calls.append(('get_server_group', gid))
            return self._group(gid)

    def list_server_groups(self, all_projects=False):
        with self.lock:
            self.calls.append(('server_groups', all_projects))
            return [self._group(g) for g in sorted(self.groups)]

    # -- openstacksdk placement proxy ---------------------------------------
    def placement_get(self, path):
        with self.lock:
            self.calls.append(('placement', path))
            parts = path.strip('/').split('/')
            if parts[0] == 'allocations':
                for h in self.hosts.values():
                    if parts[1] in h['claims']:
                        return _Resp(200, {'allocations': {h['id']: {
                            'resources': dict(zip(
                                RC, h['claims'][parts[1]]))}}})
                return _Resp(200, {'allocations': {}})
            host = next((n for n, h in self.hosts.items()
                         if h['id'] == parts[1]), None)
            if host is None:
                return _Resp(404, {})
            h = self.hosts[host]
            if parts[2] == 'inventories':
                return _Resp(200, {'inventories': {
                    rc: {'total': h['total'][k],
                         'reserved': h['reserved'][k],
                         'allocation_ratio': h['ratios'][k]}
                    for k, rc in enumerate(RC)}})
            return _Resp(200, {'usages': dict(zip(RC, self.used(host)))})

    # -- Watcher's NovaHelper (what Migrate.execute calls) -------------------
    def helper(self, *args, **kwargs):
        """A ``NovaHelper`` / ``PlacementHelper`` stand-in."""
        return types.SimpleNamespace(
            connection=types.SimpleNamespace(compute=self.compute,
                                             placement=self.placement),
            find_instance=self.find_instance,
            get_compute_node_by_hostname=self.compute_node,
            live_migrate_instance=self.live_migrate_instance)

    def compute_node(self, hostname):
        from watcher.common import exception
        with self.lock:
            if hostname not in self.hosts:
                raise exception.ComputeNodeNotFound(name=hostname)
            return types.SimpleNamespace(
                status=self.hosts[hostname]['status'],
                state=self.hosts[hostname]['state'])

    def find_instance(self, instance_id):
        from watcher.common import exception
        with self.lock:
            if instance_id not in self.servers:
                raise exception.ComputeResourceNotFound(instance_id)
            server = self.get_server(instance_id)
            # Watcher's Server wrapper names the host "host"
            server.host = server.compute_host
            return server

    def live_migrate_instance(self, instance_id, dest_hostname):
        with self.lock:
            s = self.servers[instance_id]
            source = s['host']
            dest = self.hosts[dest_hostname]
            need = s['size']
            room = all(u + n <= c + 1e-9 for u, n, c in zip(
                self.used(dest_hostname), need,
                self.capacity(dest_hostname)))
            if instance_id in self.refuse or not room or \
                    dest['status'] != 'enabled' or s['status'] != 'ACTIVE':
                self.migrations.append((instance_id, source, dest_hostname,
                                        False))
                return False
            dest['claims'][instance_id] = need
            self._note_peak(dest_hostname)
        time.sleep(self.migration_s)
        with self.lock:
            del self.hosts[source]['claims'][instance_id]
            s['host'] = dest_hostname
            self.migrations.append((instance_id, source, dest_hostname, True))
        return True
