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

"""doc/source/metrics.rst shows the files the Ceilometer suite runs.

tools/ceilometer/test.sh runs Ceilometer 27 with the ``polling.yaml`` and
``pipeline.yaml`` of ``tests/ceilometer/harness.py``; the operator's copy
in the documentation must be the same files (only the interval and the
publishers' addresses differ), so that each line the page shows is one
the suite verified.
"""

import pathlib
import re

import yaml

from tests.ceilometer import harness

ROOT = pathlib.Path(__file__).resolve().parents[3]
PAGE = ROOT / 'doc' / 'source' / 'metrics.rst'


def _literal_yaml_blocks():
    """Every ``::`` literal block of the page that is a YAML document."""
    blocks = []
    for match in re.finditer(r'::\n\n((?:(?: {4}.*)?\n)+)',
                             PAGE.read_text()):
        text = '\n'.join(line[4:] for line in match.group(1).splitlines())
        if text.startswith('---'):
            blocks.append(yaml.safe_load(text))
    return blocks


def _block(key):
    found = [b for b in _literal_yaml_blocks()
             if key in b.get('sources', [{}])[0] or key in b]
    assert len(found) == 1, found
    return found[0]


def test_documented_polling_yaml_is_the_suites():
    documented = _block('interval')
    interval = documented['sources'][0]['interval']
    assert interval == 300      # ceilometer-low's granularity
    assert documented == yaml.safe_load(harness.polling_yaml(interval))


def test_documented_pipeline_yaml_is_the_suites():
    documented = _block('sinks')
    assert documented == yaml.safe_load(
        harness.pipeline_yaml(['gnocchi://']))


def test_every_meter_the_readers_need_is_documented_and_polled():
    polled = set(_block('interval')['sources'][0]['meters'])
    assert polled == set(harness.METERS)
    assert 'memory.resident' in polled    # round 1 of the cost model
