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

"""Test-wide settings.

Property tests are deterministic by default: Hypothesis draws the same
examples on every run (``derandomize``), so CI never fails on a draw no
earlier run made.  ``WATCHER_INFORMED_PROPERTY_RANDOM=1`` draws fresh
examples for a hunt (with ``WATCHER_INFORMED_PROPERTY_EXAMPLES`` for
more of them); a counterexample it finds becomes a table row of the
test it broke.
"""

import os

import hypothesis

hypothesis.settings.register_profile('deterministic', derandomize=True,
                                     database=None)
hypothesis.settings.register_profile('hunt', derandomize=False)
hypothesis.settings.load_profile(
    'hunt' if os.environ.get('WATCHER_INFORMED_PROPERTY_RANDOM') else
    'deterministic')
