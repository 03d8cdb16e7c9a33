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

"""The section 3.3 benchmark (bench/section33.py) compares the paper's
sequences on the simulator's truth, ours among them."""

from bench import section33


def test_the_paper_sequences_are_the_workload_vm_at_every_position():
    rows = section33.run(names=('web', 'mixed'), orders=5)
    web, mixed = rows
    assert web['moved'] == web['vms'] == 8 and not web['breaks']
    # the workload VM at each of the 8 positions, ours among them
    assert len(web['peers']) == 8
    comp = [x['mean_completion_s'] for x in web['peers']]
    assert min(comp) <= web['ours']['mean_completion_s'] + 1e-9
    assert web['ours']['mean_completion_s'] < max(comp)
    assert len(mixed['peers']) == 5
    table = section33.table(rows).splitlines()
    assert len(table) == 4 and 'section-3.3-web | 8 of 8' in table[2]
