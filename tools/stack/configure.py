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

"""Write the configuration files of the end-to-end OpenStack stack.

Contract: ``python configure.py RUN VENV`` writes, under the state
directory ``RUN``, the configuration of Keystone, Placement, Glance, Nova
(one extra file per compute: ``host``, ``state_path``, sizes) and Watcher
(with the ``informed_live_migration`` strategy section), all on
127.0.0.1, from the ports and passwords in :data:`PORTS` and the compute
sizes in :data:`COMPUTES`, and the configuration of Watcher's tempest
plugin for this cloud (``RUN/tempest.conf``).  It writes
``RUN/stack.json`` with the same facts for the scripts and tests.
Nothing outside ``RUN`` is touched.  ``python configure.py ports``
prints the ports as shell assignments (``PORT_prometheus=19090``...) for
``stack.sh``: this module is the one place that names them.
"""

import configparser
import json
import os
import shutil
import sys

PASSWORD = 'secret'  # noqa: S105 - a throw-away stack on loopback
DB = 'mysql+pymysql://os:os@127.0.0.1/%s?charset=utf8'
#: every TCP port a server of the stack listens on (127.0.0.1 only), all
#: below the kernel's ephemeral range (32768-60999 by default), where an
#: outgoing connection could take the port before the server binds it.
#: RabbitMQ's own: Erlang's port mapper (epmd) 4369, distribution 25672
#: (20000 + AMQP port) and the command-line tools' 25682-25692
#: (``stack.sh``); Horizon: 8080 (``horizon.sh``).
PORTS = {
    'keystone': 5000, 'placement': 8778, 'glance': 9292, 'nova': 8774,
    'watcher': 9322, 'neutron': 9696, 'prometheus': 19090,
    'exporter': 19091, 'rabbitmq': 5672, 'mariadb': 3306,
}
#: the fake computes (``fake.MediumFakeDriver``: 10 vCPUs, 8192 MiB,
#: 1028 GiB each); sizes differ through reserved resources.
COMPUTES = {
    'compute1': {'reserved_host_cpus': 0, 'reserved_host_memory_mb': 512},
    'compute2': {'reserved_host_cpus': 2, 'reserved_host_memory_mb': 1024},
    'compute3': {'reserved_host_cpus': 4, 'reserved_host_memory_mb': 2048},
    'compute4': {'reserved_host_cpus': 0, 'reserved_host_memory_mb': 1536},
}
#: the dirty-rate agent's meters (the strategy's default option values):
#: Prometheus series ceilometer_memory_dirty_rate (MiB/s) and
#: ceilometer_memory_dirty_working_set (MiB).
DIRTY_RATE_METER = 'memory.dirty.rate'
WORKING_SET_METER = 'memory.dirty.working_set'


def url(service, path=''):
    return 'http://127.0.0.1:%d%s' % (PORTS[service], path)


def auth(user):
    """A keystoneauth password section for service ``user``."""
    return {
        'auth_type': 'password', 'auth_url': url('keystone'),
        'www_authenticate_uri': url('keystone'),
        'project_domain_name': 'Default', 'user_domain_name': 'Default',
        'project_name': 'service', 'username': user,
        'password': PASSWORD, 'region_name': 'RegionOne',
    }


#: keystoneauth's retries of a request whose connection failed: on a
#: loaded machine a pooled keep-alive connection can be reset by the API's
#: gunicorn just as it is reused ("Connection reset by peer"), which made
#: the scheduler find no host for a server of the scenario.
RETRIES = {'connect_retries': 3, 'connect_retry_delay': 1}


def client(user, **extra):
    section = {k: v for k, v in auth(user).items()
               if k != 'www_authenticate_uri'}
    section.update(RETRIES)
    section.update(extra)
    return section


def transport():
    return 'rabbit://guest:guest@127.0.0.1:%d/' % PORTS['rabbitmq']


def write(path, sections):
    parser = configparser.ConfigParser(interpolation=None)
    for name, values in sections.items():
        if name != 'DEFAULT':
            parser.add_section(name)
        for key, value in values.items():
            parser.set(name, key, str(value))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as out:
        parser.write(out)


def keystone(run):
    d = os.path.join(run, 'keystone')
    write(os.path.join(d, 'keystone.conf'), {
        'DEFAULT': {'log_file': os.path.join(run, 'logs', 'keystone.log')},
        'database': {'connection': DB % 'keystone'},
        'token': {'provider': 'fernet'},
        'fernet_tokens': {'key_repository': os.path.join(d, 'fernet')},
        'fernet_receipts': {'key_repository': os.path.join(d, 'fernet')},
        'credential': {'key_repository': os.path.join(d, 'credential')},
    })


def placement(run):
    write(os.path.join(run, 'placement', 'placement.conf'), {
        'DEFAULT': {'log_file': os.path.join(run, 'logs',
                                             'placement.log')},
        'placement_database': {'connection': DB % 'placement'},
        'api': {'auth_strategy': 'keystone'},
        'keystone_authtoken': auth('placement'),
    })


def glance(run, venv):
    d = os.path.join(run, 'glance')
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(venv, 'etc', 'glance', 'glance-api-paste.ini'),
                d)
    write(os.path.join(d, 'glance-api.conf'), {
        'DEFAULT': {'log_file': os.path.join(run, 'logs', 'glance.log'),
                    'enabled_backends': 'files:file'},
        'database': {'connection': DB % 'glance'},
        'glance_store': {'default_backend': 'files'},
        'files': {'filesystem_store_datadir': os.path.join(d, 'images')},
        'os_glance_staging_store': {
            'filesystem_store_datadir': os.path.join(d, 'staging')},
        'os_glance_tasks_store': {
            'filesystem_store_datadir': os.path.join(d, 'tasks')},
        'keystone_authtoken': auth('glance'),
        'paste_deploy': {'flavor': 'keystone'},
        'oslo_concurrency': {'lock_path': os.path.join(d, 'lock')},
    })


def nova(run, venv):
    d = os.path.join(run, 'nova')
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(venv, 'etc', 'nova', 'api-paste.ini'), d)
    write(os.path.join(d, 'nova.conf'), {
        'DEFAULT': {
            'transport_url': transport(),
            'compute_driver': 'fake.MediumFakeDriver',
            'my_ip': '127.0.0.1',
            'state_path': os.path.join(d, 'state'),
            'sync_power_state_interval': -1,
            'heal_instance_info_cache_interval': -1,
            'update_resources_interval': 5,
            'cpu_allocation_ratio': 1.0,
            'ram_allocation_ratio': 1.0,
            'disk_allocation_ratio': 1.0,
        },
        'api': {'auth_strategy': 'keystone'},
        'api_database': {'connection': DB % 'nova_api'},
        'database': {'connection': DB % 'nova'},
        'keystone_authtoken': auth('nova'),
        'placement': client('placement'),
        'glance': dict(RETRIES, endpoint_override=url('glance'),
                       region_name='RegionOne'),
        'neutron': client('nova', endpoint_override=url('neutron')),
        'notifications': {'notification_format': 'both',
                          'notify_on_state_change': 'vm_and_task_state'},
        'oslo_messaging_notifications': {'driver': 'messagingv2'},
        'oslo_concurrency': {'lock_path': os.path.join(d, 'lock')},
        'scheduler': {'discover_hosts_in_cells_interval': 2,
                      'workers': 1,
                      # Nova's scheduling constraints the end-to-end
                      # tests set (tests/e2e/test_scheduling.py):
                      # aggregates isolated to a trait, aggregate extra
                      # specs, tenant-isolated aggregates
                      'enable_isolated_aggregate_filtering': True},
        'filter_scheduler': {'enabled_filters': ','.join((
            'ComputeFilter', 'ComputeCapabilitiesFilter',
            'ImagePropertiesFilter', 'ServerGroupAntiAffinityFilter',
            'ServerGroupAffinityFilter',
            'AggregateInstanceExtraSpecsFilter',
            'AggregateMultiTenancyIsolation'))},
        'conductor': {'workers': 1},
        'vnc': {'enabled': 'False'},
        'os_vif_ovs': {'ovsdb_connection': 'tcp:127.0.0.1:6640'},
    })
    for host, sizes in COMPUTES.items():
        state = os.path.join(d, host)
        os.makedirs(os.path.join(state, 'instances'), exist_ok=True)
        values = {'host': host, 'state_path': state,
                  'instances_path': os.path.join(state, 'instances'),
                  'log_file': os.path.join(run, 'logs',
                                           'nova-%s.log' % host)}
        values.update(sizes)
        write(os.path.join(d, '%s.conf' % host), {'DEFAULT': values})


def watcher(run):
    d = os.path.join(run, 'watcher')
    write(os.path.join(d, 'watcher.conf'), {
        'DEFAULT': {'transport_url': transport(), 'debug': 'True',
                    'default_log_levels': ','.join([
                        'amqp=WARN', 'amqplib=WARN', 'sqlalchemy=WARN',
                        'oslo.messaging=INFO', 'iso8601=WARN',
                        'requests=WARN', 'urllib3=WARN',
                        'keystonemiddleware=WARN', 'keystoneauth=WARN',
                        'stevedore=WARN', 'taskflow=WARN',
                        'oslo_policy=WARN', 'watcher=INFO',
                        'watcher_informed=DEBUG'])},
        'api': {'host': '127.0.0.1', 'port': PORTS['watcher']},
        'database': {'connection': DB % 'watcher'},
        'keystone_authtoken': auth('watcher'),
        'watcher_clients_auth': client('watcher'),
        'collector': {'collector_plugins': 'compute'},
        'watcher_cluster_data_model_collectors.compute': {'period': 10},
        'nova': dict(RETRIES, region_name='RegionOne', migration_interval=1,
                     migration_max_retry=60),
        'placement': dict(RETRIES, region_name='RegionOne'),
        'watcher_datasources': {'datasources': 'prometheus'},
        'prometheus_client': {'host': '127.0.0.1',
                              'port': PORTS['prometheus'],
                              'fqdn_label': 'fqdn',
                              'instance_uuid_label': 'resource'},
        # metrics_store, dirty_rate_meter and working_set_meter keep their
        # defaults: the bulk reader of Watcher's datasource, the agent's
        # meters.
        'watcher_strategies.informed_live_migration': {},
        'oslo_messaging_notifications': {'driver': 'messagingv2'},
        'oslo_concurrency': {'lock_path': os.path.join(d, 'lock')},
    })


def tempest(run):
    """tempest.conf of Watcher's tempest plugin, for its API tests.

    The configured admin (no dynamic credentials: the API tests use only
    the admin), Keystone v3 only, Watcher and the services the stack runs
    marked available, Neutron, Cinder and Swift not; the plugin's
    datasource is the stack's Prometheus; every API microversion.
    """
    write(os.path.join(run, 'tempest.conf'), {
        'DEFAULT': {'log_file': os.path.join(run, 'logs', 'tempest.log'),
                    'debug': 'True'},
        'auth': {'use_dynamic_credentials': 'False',
                 'admin_username': 'admin', 'admin_password': PASSWORD,
                 'admin_project_name': 'admin',
                 'admin_domain_name': 'Default'},
        'identity': {'uri_v3': url('keystone', '/v3'),
                     'auth_version': 'v3', 'region': 'RegionOne',
                     'v3_endpoint_type': 'public'},
        'identity-feature-enabled': {'api_v2': 'False'},
        'service_available': {'watcher': 'True', 'nova': 'True',
                              'glance': 'True', 'neutron': 'False',
                              'cinder': 'False', 'swift': 'False'},
        'compute': {'min_compute_nodes': len(COMPUTES)},
        'optimize': {'datasource': 'prometheus',
                     'prometheus_host': '127.0.0.1',
                     'prometheus_port': PORTS['prometheus'],
                     'prometheus_fqdn_label': 'fqdn',
                     'resource_check_interval': 1.0,
                     'resource_timeout': 300, 'model_timeout': 300,
                     # every API microversion the stack's Watcher serves
                     # (1.0 to 1.7 in Watcher 17): without a range, the
                     # microversioned test classes skip themselves.
                     'min_microversion': '1.0',
                     'max_microversion': 'latest'},
        'oslo_concurrency': {'lock_path': os.path.join(run, 'tempest',
                                                       'lock')},
    })


def facts(run):
    return {
        'run': run, 'password': PASSWORD, 'ports': PORTS,
        'computes': COMPUTES, 'dirty_rate_meter': DIRTY_RATE_METER,
        'working_set_meter': WORKING_SET_METER,
        'auth_url': url('keystone', '/v3'),
        'watcher_url': url('watcher'),
        'prometheus_url': url('prometheus'),
        'logs': os.path.join(run, 'logs'),
        'watcher_conf': os.path.join(run, 'watcher', 'watcher.conf'),
        # scenario host name -> Nova host name (identity here)
        'hosts': {name: name for name in COMPUTES},
    }


def main(argv):
    if argv[1:] == ['ports']:
        for name, port in sorted(PORTS.items()):
            print('PORT_%s=%d' % (name, port))
        return 0
    run, venv = argv[1], argv[2]
    os.makedirs(os.path.join(run, 'logs'), exist_ok=True)
    keystone(run)
    placement(run)
    glance(run, venv)
    nova(run, venv)
    watcher(run)
    tempest(run)
    with open(os.path.join(run, 'stack.json'), 'w') as out:
        json.dump(facts(run), out, indent=2, sort_keys=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
