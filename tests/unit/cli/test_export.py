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

"""The live cloud of ``watcher-informed export`` / ``plan --live``:
``--os-cloud`` (or ``OS_CLOUD``) names a cloud of clouds.yaml, read by
openstacksdk as every OpenStack client reads it.  Nothing here connects:
openstacksdk authenticates at the first request.
"""

import argparse

import pytest

from watcher_informed.cli import export

CLOUDS = """\
clouds:
  wi-prod:
    auth:
      auth_url: http://127.0.0.1:9/identity/v3
      username: operator
      password: secret
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionTwo
    interface: internal
"""


@pytest.fixture
def clouds_yaml(tmp_path, monkeypatch):
    path = tmp_path / 'clouds.yaml'
    path.write_text(CLOUDS)
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(path))
    for name in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD',
                 'OS_PROJECT_NAME', 'OS_REGION_NAME', 'OS_INTERFACE'):
        monkeypatch.delenv(name, raising=False)
    return path


def _args(argv):
    parser = argparse.ArgumentParser()
    export.add_cloud_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize('argv, env', [
    (['--os-cloud', 'wi-prod'], None),
    ([], 'wi-prod'),                      # OS_CLOUD, as for openstack
])
def test_the_cloud_comes_from_clouds_yaml(clouds_yaml, monkeypatch, argv,
                                          env):
    if env:
        monkeypatch.setenv('OS_CLOUD', env)
    conn = export.connect(_args(argv))
    assert conn.config.name == 'wi-prod'
    auth = conn.config.get_auth_args()
    assert auth['auth_url'] == 'http://127.0.0.1:9/identity/v3'
    assert auth['username'] == 'operator'
    assert conn.config.get_region_name() == 'RegionTwo'
    assert conn.config.get_interface() == 'internal'


def test_an_unknown_cloud_is_named(clouds_yaml):
    with pytest.raises(export.LiveError) as info:
        export.connect(_args(['--os-cloud', 'wi-nowhere']))
    assert 'wi-nowhere' in str(info.value)
    assert str(info.value).startswith('cannot connect to the cloud')
