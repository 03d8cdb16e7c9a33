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


"""Nova-like guests, RabbitMQ and Ceilometer's agents for tests/ceilometer.

Contract: :class:`NetNS` is a network namespace of this test run holding
one tap device per guest (Nova's ``tap<port id>`` names, owned by the
unprivileged libvirtd's user); the private libvirtd of tests/libvirt runs
inside it, so the guests' traffic never leaves it.  :func:`domain_xml` is
a TCG domain as Nova's libvirt driver writes one: the ``nova:instance``
metadata (name, flavor with its id, owner user and project, root image),
a virtio disk ``vda``, a virtio NIC on its tap and a virtio balloon with
statistics every 10 s (Nova's ``mem_stats_period_seconds``).
:class:`RabbitMQ` is a broker on its own ports and Erlang node;
:func:`ceilometer_files` writes ``ceilometer.conf``, ``polling.yaml`` and
``pipeline.yaml`` for Ceilometer's own agents.  :func:`rx_sender` feeds a
guest's NIC with raw frames from the host side.  Processes are
:class:`tests.libvirt.harness.Process`; every wait is bounded.
"""

import collections
import os
import pathlib
import signal
import socket
import subprocess
import sys
import textwrap
import time

from tests.libvirt import harness as lv

NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/1.1'
PROJECT = '6f70656e737461636b20697320636f6f'
USER = '75736572206f66207468652074657374'
IMAGE = '1b1b6c0e-3d4e-4d7f-9a43-0c3f4c1e2a11'
#: Ceilometer's ``[DEFAULT] host``: Nova's compute host name.
HOST = 'compute-ceilometer'

#: one guest: the workload class it must get, its RAM, kernel arguments.
Guest = collections.namedtuple(
    'Guest', 'cls name memory_mib cmdline rx_kibps')


def run(*argv, check=True, env=None):
    return subprocess.run(argv, check=check, capture_output=True, text=True,
                          timeout=60, env=env)


class NetNS:
    """A network namespace with one tap device per guest."""

    def __init__(self, name):
        self.name = name
        run('ip', 'netns', 'add', name)
        run('ip', '-n', name, 'link', 'set', 'lo', 'up')
        self.taps = []

    def add_tap(self, tap, owner):
        run('ip', '-n', self.name, 'tuntap', 'add', 'dev', tap, 'mode',
            'tap', 'user', owner)
        run('ip', '-n', self.name, 'link', 'set', tap, 'up')
        self.taps.append(tap)

    def counters(self, tap):
        """``(rx_bytes, tx_bytes)`` of a tap, host side."""
        out = run('ip', 'netns', 'exec', self.name, 'cat',
                  '/sys/class/net/%s/statistics/rx_bytes' % tap,
                  '/sys/class/net/%s/statistics/tx_bytes' % tap).stdout
        rx, tx = out.split()
        return int(rx), int(tx)

    def close(self):
        """Kill what is left in the namespace (all ours), then delete it."""
        for sig in ('TERM', 'KILL'):
            pids = run('ip', 'netns', 'pids', self.name,
                       check=False).stdout.split()
            if not pids:
                break
            run('kill', '-' + sig, *pids, check=False)
            time.sleep(2)
        run('ip', 'netns', 'del', self.name, check=False)


def tap_name(port_id):
    """Nova's tap name of a Neutron port: ``tap`` + 11 characters."""
    return ('tap' + port_id)[:14]


def mac_of(port_id):
    """A MAC in Neutron's default ``fa:16:3e`` prefix."""
    h = port_id.replace('-', '')
    return 'fa:16:3e:%s:%s:%s' % (h[0:2], h[2:4], h[4:6])


def domain_xml(assets, guest, index, uuid, port_id, disk, console,
               flavor_id):
    """A transient TCG domain in the shape Nova's libvirt driver writes."""
    name = 'instance-%08x' % index
    return textwrap.dedent("""\
        <domain type='qemu'>
          <name>{name}</name>
          <uuid>{uuid}</uuid>
          <metadata>
            <nova:instance xmlns:nova="{ns}">
              <nova:package version="32.0.0"/>
              <nova:name>{display}</nova:name>
              <nova:creationTime>2026-12-04 00:00:00</nova:creationTime>
              <nova:flavor name="wi.{memory}" id="{flavor_id}">
                <nova:memory>{memory}</nova:memory>
                <nova:disk>1</nova:disk>
                <nova:swap>0</nova:swap>
                <nova:ephemeral>0</nova:ephemeral>
                <nova:vcpus>1</nova:vcpus>
              </nova:flavor>
              <nova:owner>
                <nova:user uuid="{user}">admin</nova:user>
                <nova:project uuid="{project}">demo</nova:project>
              </nova:owner>
              <nova:root type="image" uuid="{image}"/>
              <nova:ports>
                <nova:port uuid="{port}"/>
              </nova:ports>
            </nova:instance>
          </metadata>
          <memory unit='MiB'>{memory}</memory>
          <currentMemory unit='MiB'>{memory}</currentMemory>
          <vcpu>1</vcpu>
          <os>
            <type arch='x86_64' machine='pc'>hvm</type>
            <kernel>{kernel}</kernel>
            <initrd>{initrd}</initrd>
            <cmdline>console=ttyS0 quiet panic=-1 {cmdline}</cmdline>
          </os>
          <cpu mode='custom'><model>qemu64</model></cpu>
          <on_poweroff>destroy</on_poweroff>
          <on_reboot>destroy</on_reboot>
          <on_crash>destroy</on_crash>
          <devices>
            <disk type='file' device='disk'>
              <driver name='qemu' type='raw'/>
              <source file='{disk}'/>
              <target dev='vda' bus='virtio'/>
            </disk>
            <interface type='ethernet'>
              <mac address='{mac}'/>
              <target dev='{tap}' managed='no'/>
              <model type='virtio'/>
            </interface>
            <serial type='file'><source path='{console}'/></serial>
            <memballoon model='virtio'><stats period='10'/></memballoon>
            <video><model type='none'/></video>
          </devices>
        </domain>""").format(
        name=name, uuid=uuid, ns=NOVA_NS, display=guest.name,
        memory=guest.memory_mib, flavor_id=flavor_id, user=USER,
        project=PROJECT, image=IMAGE, port=port_id,
        kernel=assets['kernel'], initrd=assets['initrd_ceilometer'],
        cmdline=guest.cmdline, disk=disk, mac=mac_of(port_id),
        tap=tap_name(port_id), console=console)


def port_open(port, host='127.0.0.1'):
    with socket.socket() as s:
        s.settimeout(1.0)
        try:
            s.connect((host, port))
        except OSError:
            return False
    return True


class RabbitMQ:
    """rabbitmq-server on its own AMQP, distribution and epmd ports."""

    def __init__(self, workdir, port, dist_port, epmd_port):
        self.port = port
        self.dir = pathlib.Path(workdir) / 'rabbitmq'
        self.dir.mkdir(parents=True, exist_ok=True)
        run('chown', '-R', 'rabbitmq:', str(self.dir))
        self.node = 'wi-ceilometer@localhost'
        env = {
            'PATH': '/usr/sbin:/usr/bin:/sbin:/bin',
            'HOME': '/var/lib/rabbitmq',
            'RABBITMQ_NODENAME': self.node,
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(port),
            'RABBITMQ_DIST_PORT': str(dist_port),
            'ERL_EPMD_ADDRESS': '127.0.0.1',
            'ERL_EPMD_PORT': str(epmd_port),
            'RABBITMQ_MNESIA_BASE': str(self.dir / 'mnesia'),
            'RABBITMQ_LOG_BASE': str(self.dir),
            'RABBITMQ_ENABLED_PLUGINS_FILE': str(self.dir / 'plugins'),
            'RABBITMQ_PID_FILE': str(self.dir / 'beam.pid'),
            'RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS':
                '-kernel inet_dist_use_interface {127,0,0,1}',
        }
        (self.dir / 'plugins').write_text('[].\n')
        run('chown', 'rabbitmq:', str(self.dir / 'plugins'))
        self.epmd_port = epmd_port
        self.process = lv.Process(['/usr/sbin/rabbitmq-server'],
                                  self.dir / 'server.out', env=env,
                                  cwd=str(self.dir))

    def wait(self, timeout=120):
        def ready():
            if not self.process.alive:
                raise lv.HarnessError('rabbitmq-server exited: %s'
                                      % self.process.tail())
            return port_open(self.port)
        lv.wait_for('rabbitmq on 127.0.0.1:%d' % self.port, timeout, ready,
                    0.5)

    def close(self):
        # Debian's rabbitmq-server runs the Erlang VM through su, in a
        # session of its own: stop it by its pid file, then the wrapper.
        try:
            pid = int((self.dir / 'beam.pid').read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = None
        if pid:
            _stop_pid(pid, 30)
        self.process.close(10)
        # the epmd the node started on this suite's own port
        run('epmd', '-port', str(self.epmd_port), '-kill', check=False,
            env={'PATH': '/usr/bin:/bin',
                 'ERL_EPMD_PORT': str(self.epmd_port)})

    @property
    def url(self):
        return 'rabbit://guest:guest@127.0.0.1:%d/' % self.port


def _stop_pid(pid, timeout):
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


#: the meters the plugin reads, and the one it may read for round 1.
METERS = ('cpu', 'memory.usage', 'memory.resident',
          'disk.device.read.bytes', 'disk.device.write.bytes',
          'network.incoming.bytes', 'network.outgoing.bytes')


def polling_yaml(interval):
    return textwrap.dedent("""\
        ---
        sources:
          - name: informed_live_migration
            interval: {interval}
            meters:
        """).format(interval=interval) + ''.join(
        '          - %s\n' % m for m in METERS)


def pipeline_yaml(publishers):
    return textwrap.dedent("""\
        ---
        sources:
          - name: informed_live_migration
            meters:
        """) + ''.join('              - %s\n' % m for m in METERS) + \
        textwrap.dedent("""\
            sinks:
              - informed_sink
        sinks:
          - name: informed_sink
            publishers:
        """) + ''.join('          - %s\n' % p for p in publishers)


def ceilometer_files(workdir, libvirt_uri, rabbit_url, gnocchi_url,
                     exporter_port, pushgateway_url, interval,
                     archive_policy):
    """Write Ceilometer's configuration; the path of ceilometer.conf."""
    work = pathlib.Path(workdir) / 'ceilometer'
    (work / 'logs').mkdir(parents=True, exist_ok=True)
    (work / 'polling.yaml').write_text(polling_yaml(interval))
    publishers = ['gnocchi://?archive_policy=%s&enable_filter_project=false'
                  % archive_policy]
    if pushgateway_url:
        publishers.append('prometheus://%s/metrics/job/ceilometer'
                          % pushgateway_url.split('://', 1)[-1])
    (work / 'pipeline.yaml').write_text(pipeline_yaml(publishers))
    conf = work / 'ceilometer.conf'
    conf.write_text(textwrap.dedent("""\
        [DEFAULT]
        host = {host}
        transport_url = {rabbit}
        libvirt_type = qemu
        libvirt_uri = {uri}
        pipeline_cfg_file = {work}/pipeline.yaml
        log_dir = {work}/logs
        debug = False

        [compute]
        instance_discovery_method = libvirt_metadata
        resource_update_interval = 5

        [polling]
        cfg_file = {work}/polling.yaml
        enable_prometheus_exporter = True
        prometheus_listen_addresses = 127.0.0.1:{exporter}
        heartbeat_socket_dir = {work}

        [notification]
        pipelines = meter
        workers = 1
        batch_size = 1

        [service_credentials]
        auth_type = gnocchi-basic
        user = admin
        endpoint = {gnocchi}
        interface = public
        """).format(host=HOST, rabbit=rabbit_url, uri=libvirt_uri,
                    work=work, exporter=exporter_port, gnocchi=gnocchi_url))
    return conf


RX_SENDER = textwrap.dedent("""\
    import socket, sys, time
    tap, mac, kibps = sys.argv[1], sys.argv[2], float(sys.argv[3])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((tap, 0))
    dst = bytes.fromhex(mac.replace(':', ''))
    frame = dst + bytes.fromhex('020000000001') + b'\\x88\\xb5' + \\
        bytes(1500)
    per_s = kibps * 1024 / len(frame)
    t0, done = time.monotonic(), 0
    while True:
        due = (time.monotonic() - t0) * per_s
        while done < due:
            try:
                s.send(frame)
            except OSError:
                time.sleep(0.05)
            done += 1
        time.sleep(0.01)
    """)


def rx_sender(netns, tap, mac, kibps, log):
    """Raw frames to a guest's MAC on its tap, ``kibps`` KiB/s."""
    return lv.Process(['ip', 'netns', 'exec', netns, sys.executable, '-c',
                       RX_SENDER, tap, mac, str(kibps)], log)
