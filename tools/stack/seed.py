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

"""Create what the end-to-end tests need in the running stack.

Contract: ``python seed.py keystone RUN`` creates the service project,
the service users (admin and service roles), and the services and
endpoints of compute, placement, image, network and infra-optim in
Keystone; it is idempotent.  ``python seed.py cloud RUN SCENARIO`` waits
(bounded) for every compute of the scenario to be a hypervisor, uploads a
1 MiB raw image, creates the flavors, the server groups (through Nova's
API, with the scenario's policies) and boots every scenario instance on
its host, waits until all are ACTIVE, and writes ``RUN/live.json``: the
scenario with Nova's server and group UUIDs in place of the scenario's,
which the metric exporter and the tests read.  Nova's scheduling
constraints of the scenario go through the real APIs: a host's
``traits`` are set on its resource provider in Placement before the
boots, an instance's ``extra_specs`` on a flavor of its own, and the
``aggregates`` (hosts, metadata) are created in Nova after the boots (a
boot onto a named host bypasses the filters, not Placement).  ``python
seed.py reset RUN SCENARIO`` first deletes every server, server group and
aggregate and the custom traits it set, so that a test starts from the
scenario's placement whatever ran before it.
"""

import json
import os
import subprocess
import sys
import time

import openstack

ADMIN = dict(username='admin', project_name='admin',
             user_domain_name='Default', project_domain_name='Default',
             region_name='RegionOne')
USERS = ('nova', 'placement', 'glance', 'watcher')
SERVICES = (
    ('keystone', 'identity', None),
    ('nova', 'compute', '/v2.1'),
    ('placement', 'placement', ''),
    ('glance', 'image', ''),
    ('neutron', 'network', ''),
    ('watcher', 'infra-optim', ''),
)
#: flavors of the scenario, by name: vCPUs, MiB, GiB.
FLAVORS = {'tiny': (1, 512, 1), 'small': (2, 1024, 1)}
#: custom traits this script sets start with this prefix (reset removes
#: them); the Placement microversion of trait calls.
TRAIT_PREFIX = 'CUSTOM_WI_'
PLACEMENT = '1.6'


def facts(run):
    with open(os.path.join(run, 'stack.json')) as f:
        return json.load(f)


def connect(run, **extra):
    f = facts(run)
    return openstack.connect(auth_url=f['auth_url'], password=f['password'],
                             **dict(ADMIN, **extra))


def log(text):
    print('seed: %s' % text, flush=True)


def keystone(run):
    f = facts(run)
    conn = connect(run)
    ident = conn.identity
    service = (ident.find_project('service') or
               ident.create_project(name='service', domain_id='default'))
    roles = {}
    for name in ('admin', 'service'):
        roles[name] = (ident.find_role(name) or
                       ident.create_role(name=name))
    for name in USERS:
        user = ident.find_user(name) or ident.create_user(
            name=name, password=f['password'], domain_id='default')
        for role in roles.values():
            conn.identity.assign_project_role_to_user(service, user, role)
    for port_name, kind, path in SERVICES:
        if path is None:
            continue
        svc = ident.find_service(port_name) or ident.create_service(
            name=port_name, type=kind)
        link = 'http://127.0.0.1:%d%s' % (f['ports'][port_name], path)
        have = {(e.interface, e.url) for e in ident.endpoints(
            service_id=svc.id)}
        for interface in ('public', 'internal', 'admin'):
            if (interface, link) not in have:
                ident.create_endpoint(service_id=svc.id,
                                      interface=interface, url=link,
                                      region_id='RegionOne')
    log('keystone: service users and %d endpoints ready' %
        len(list(ident.endpoints())))


def wait(what, limit, probe, step=1.0):
    end = time.monotonic() + limit
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > end:
            raise SystemExit('seed: %s not ready after %d s' % (what, limit))
        time.sleep(step)


def discover(run):
    """Map new computes to the cell (Nova's discover_hosts)."""
    manage = os.path.join(os.path.dirname(sys.executable), 'nova-manage')
    subprocess.run([manage, '--config-file',
                    os.path.join(run, 'nova', 'nova.conf'), 'cell_v2',
                    'discover_hosts'], check=False, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def hypervisors(conn, run, names):
    def probe():
        found = {h.name.split('.')[0] for h in conn.compute.hypervisors()}
        if not names <= found:
            discover(run)
        return names <= found
    wait('hypervisors %s' % sorted(names), 240, probe, 2.0)
    log('hypervisors: %s' % ', '.join(sorted(names)))


def image(conn, run):
    found = conn.image.find_image('wi-e2e')
    if found:
        return found
    path = os.path.join(run, 'wi-e2e.img')
    with open(path, 'wb') as f:
        f.write(b'\0' * (1024 * 1024))
    img = conn.image.create_image(name='wi-e2e', filename=path,
                                  disk_format='raw', container_format='bare',
                                  visibility='public', wait=True)
    log('image: %s' % img.id)
    return img


def flavors(conn):
    out = {}
    for name, (vcpus, ram, disk) in FLAVORS.items():
        out[name] = conn.compute.find_flavor('wi-' + name) or \
            conn.compute.create_flavor(name='wi-' + name, vcpus=vcpus,
                                       ram=ram, disk=disk)
    return out


def constrained_flavors(conn, scenario, flv):
    """A flavor per (flavor, extra specs) of the scenario's instances."""
    out = {}
    for inst in scenario['instances']:
        specs = inst.get('extra_specs')
        if not specs:
            continue
        key = (inst['flavor'], json.dumps(specs, sort_keys=True))
        if key in out:
            continue
        vcpus, ram, disk = FLAVORS[inst['flavor']]
        name = 'wi-%s-%d' % (inst['flavor'], len(out) + 1)
        found = conn.compute.find_flavor(name)
        if found:
            conn.compute.delete_flavor(found)
        made = conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram,
                                          disk=disk)
        conn.compute.create_flavor_extra_specs(made, specs)
        out[key] = made
    for inst in scenario['instances']:
        if inst.get('extra_specs'):
            inst['_flavor'] = out[(inst['flavor'], json.dumps(
                inst['extra_specs'], sort_keys=True))]
        else:
            inst['_flavor'] = flv[inst['flavor']]
    if out:
        log('flavors with extra specs: %s' % ', '.join(
            f.name for f in out.values()))


def provider(conn, host):
    found = conn.placement.get('/resource_providers?name=%s' % host,
                               microversion=PLACEMENT).json()
    rps = found['resource_providers']
    if len(rps) != 1:
        raise SystemExit('seed: %d resource providers named %s'
                         % (len(rps), host))
    return rps[0]['uuid']


def set_traits(conn, rp, change):
    """Apply ``change(traits) -> traits`` to provider ``rp``.

    Retried on a generation conflict: nova-compute updates it too.
    """
    url = '/resource_providers/%s/traits' % rp
    for _ in range(20):
        have = conn.placement.get(url, microversion=PLACEMENT).json()
        want = sorted(change(set(have['traits'])))
        if want == sorted(have['traits']):
            return
        resp = conn.placement.put(url, json={
            'resource_provider_generation':
                have['resource_provider_generation'],
            'traits': want}, microversion=PLACEMENT, raise_exc=False)
        if resp.status_code == 200:
            return
        if resp.status_code != 409:
            raise SystemExit('seed: traits of %s: %s %s'
                             % (rp, resp.status_code, resp.text))
        time.sleep(0.5)
    raise SystemExit('seed: traits of %s: conflicts did not stop' % rp)


def host_traits(conn, scenario):
    for h in scenario['hosts']:
        traits = set(h.get('traits', ()))
        if not traits:
            continue
        for trait in sorted(traits):
            conn.placement.put('/traits/%s' % trait,
                               microversion=PLACEMENT)
        set_traits(conn, provider(conn, h['name']),
                   lambda have, t=traits: have | t)
        log('traits of %s: %s' % (h['name'], ', '.join(sorted(traits))))


def aggregates(conn, scenario):
    for a in scenario.get('aggregates', []):
        agg = conn.compute.create_aggregate(name=a['name'])
        if a.get('metadata'):
            conn.compute.set_aggregate_metadata(agg, a['metadata'])
        for host in a['hosts']:
            conn.compute.add_host_to_aggregate(agg, host)
        log('aggregate %s: %s %s' % (a['name'], ', '.join(a['hosts']),
                                     a.get('metadata', {})))


def clear_constraints(conn):
    """Delete the aggregates (``wi-*``) and custom traits it set."""
    for agg in list(conn.compute.aggregates()):
        if not (agg.name or '').startswith('wi-'):
            continue
        for host in agg.hosts or ():
            conn.compute.remove_host_from_aggregate(agg, host)
        conn.compute.delete_aggregate(agg)
    rps = conn.placement.get('/resource_providers',
                             microversion=PLACEMENT).json()
    for rp in rps['resource_providers']:
        set_traits(conn, rp['uuid'], lambda have: {
            t for t in have if not t.startswith(TRAIT_PREFIX)})


def groups(conn, scenario):
    made = {}
    for g in scenario.get('server_groups', []):
        sg = conn.compute.create_server_group(name=g['name'],
                                              policy=g['policy'])
        made[g['uuid']] = sg.id
    return made


def boot(conn, scenario, img, flv, made):
    member_of = {}
    for g in scenario.get('server_groups', []):
        for m in g['members']:
            member_of[m] = made[g['uuid']]
    servers = {}
    for inst in scenario['instances']:
        extra = ({'scheduler_hints': {'group': member_of[inst['uuid']]}}
                 if inst['uuid'] in member_of else {})
        server = conn.compute.create_server(
            name=inst['name'], image_id=img.id,
            flavor_id=inst['_flavor'].id, networks='none',
            availability_zone='nova:%s' % inst['host'], **extra)
        servers[inst['uuid']] = server.id
    for old, new in servers.items():
        server = conn.compute.wait_for_server(
            conn.compute.get_server(new), status='ACTIVE', wait=180,
            interval=1)
        want = next(i['host'] for i in scenario['instances']
                    if i['uuid'] == old)
        if server.compute_host != want:
            raise SystemExit('seed: %s booted on %s, not %s'
                             % (server.name, server.compute_host, want))
    log('servers: %d ACTIVE on their hosts' % len(servers))
    return servers


def rename(scenario, servers, made):
    """The scenario with Nova's UUIDs."""
    ids = dict(servers, **made)
    text = json.dumps(scenario)
    for old, new in ids.items():
        text = text.replace(old, new)
    return json.loads(text)


def clear(conn):
    """Delete every server and server group of the admin project."""
    servers = list(conn.compute.servers())
    for server in servers:
        conn.compute.delete_server(server)
    for server in servers:
        conn.compute.wait_for_delete(server, wait=120, interval=1)
    for group in conn.compute.server_groups():
        conn.compute.delete_server_group(group)
    if servers:
        log('deleted %d servers' % len(servers))
    clear_constraints(conn)


def mapped(scenario, hosts):
    """The scenario with its host names mapped to Nova's (``hosts``)."""
    if not hosts:
        return scenario
    out = json.loads(json.dumps(scenario))
    for h in out['hosts']:
        h['name'] = hosts.get(h['name'], h['name'])
    for i in out['instances']:
        i['host'] = hosts.get(i['host'], i['host'])
    return out


def sizes_from_placement(conn, scenario):
    """The scenario's hosts with Placement's inventories (DevStack)."""
    by_name = {rp.name.split('.')[0]: rp
               for rp in conn.placement.resource_providers()}
    for h in scenario['hosts']:
        inv = conn.placement.get('/resource_providers/%s/inventories' %
                                 by_name[h['name']].id).json()['inventories']
        h.update(vcpus=inv['VCPU']['total'],
                 vcpu_reserved=inv['VCPU']['reserved'],
                 vcpu_ratio=inv['VCPU']['allocation_ratio'],
                 ram_mb=inv['MEMORY_MB']['total'],
                 ram_reserved_mb=inv['MEMORY_MB']['reserved'],
                 ram_ratio=inv['MEMORY_MB']['allocation_ratio'],
                 disk_gb=inv['DISK_GB']['total'])
    return scenario


def cloud(run, path, reset=False):
    known = facts(run)
    with open(path) as f:
        scenario = mapped(json.load(f), known.get('hosts'))
    conn = connect(run)
    if reset:
        clear(conn)
    hypervisors(conn, run, {h['name'] for h in scenario['hosts']})
    if known.get('sizes_from_placement'):
        scenario = sizes_from_placement(conn, scenario)
    img = image(conn, run)
    project = conn.identity.find_project('admin')
    conn.set_compute_quotas(project.id, instances=-1, cores=-1, ram=-1,
                            server_groups=-1, server_group_members=-1)
    flv = flavors(conn)
    constrained_flavors(conn, scenario, flv)
    host_traits(conn, scenario)
    made = groups(conn, scenario)
    servers = boot(conn, scenario, img, flv, made)
    aggregates(conn, scenario)
    for inst in scenario['instances']:
        inst.pop('_flavor', None)
    live = rename(scenario, servers, made)
    with open(os.path.join(run, 'live.json.tmp'), 'w') as f:
        json.dump(live, f, indent=1, sort_keys=True)
    os.replace(os.path.join(run, 'live.json.tmp'),
               os.path.join(run, 'live.json'))
    log('wrote %s' % os.path.join(run, 'live.json'))


def main(argv):
    if argv[1] == 'keystone':
        keystone(argv[2])
    elif argv[1] in ('cloud', 'reset'):
        cloud(argv[2], argv[3], reset=argv[1] == 'reset')
    else:
        raise SystemExit('usage: seed.py keystone|cloud|reset RUN '
                         '[SCENARIO]')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
