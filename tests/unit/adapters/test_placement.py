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

"""Traits and PCPUs from openstacksdk-shaped Placement answers.

The objects have the attribute names of openstacksdk's
``ResourceProvider`` (``id`` is the provider UUID) and ``Inventory``.
"""

import types

from watcher_informed.adapters import placement

NS = types.SimpleNamespace
HOSTS = [NS(name='h1', uuid='u1'), NS(name='h2', uuid='u2'),
         NS(name='h3', uuid='')]


class Placement:
    def __init__(self, traits, pcpus):
        self.traits, self.pcpus, self.calls = traits, pcpus, []

    def resource_providers(self, **query):
        self.calls.append(query)
        if 'required' in query:
            return [NS(id=rp, name=name) for rp, name, traits in self.traits
                    if query['required'] in traits]
        return [NS(id=rp, name=name) for rp, name, _ in self.traits
                if self.pcpus.get(rp)]

    def resource_provider_inventories(self, rp):
        self.calls.append(('inventories', rp.id))
        return [NS(resource_class='VCPU', total=64, reserved=0,
                   allocation_ratio=4.0),
                NS(resource_class='PCPU', total=self.pcpus[rp.id],
                   reserved=2, allocation_ratio=1.0)]


PROVIDERS = [('u1', 'h1.example', {'CUSTOM_A', 'CUSTOM_B'}),
             ('u2', 'h2', {'CUSTOM_B'}),
             ('x3', 'h3', {'CUSTOM_A'}),          # matched by name
             ('child', 'h1_pf0', {'CUSTOM_A'})]   # not a compute node


def test_one_call_per_trait_matched_by_uuid_then_name():
    p = Placement(PROVIDERS, {})
    found = placement.host_traits(NS(placement=p), HOSTS,
                                  ['CUSTOM_B', 'CUSTOM_A', 'CUSTOM_A'])
    assert found == {'h1': {'CUSTOM_A', 'CUSTOM_B'}, 'h2': {'CUSTOM_B'},
                     'h3': {'CUSTOM_A'}}
    assert p.calls == [{'required': 'CUSTOM_A'}, {'required': 'CUSTOM_B'}]


def test_pcpus_only_of_providers_with_pcpu():
    p = Placement(PROVIDERS, {'u2': 10})
    assert placement.host_pcpus(NS(placement=p), HOSTS) == {'h2': 8.0}
    assert p.calls == [{'resources': 'PCPU:1'}, ('inventories', 'u2')]
