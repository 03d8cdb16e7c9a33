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

"""Minimal stand-in for DevStack's ``iniset`` (used by fake-functions.sh).

``iniset.py FILE SECTION OPTION VALUE`` sets ``OPTION = VALUE`` in
``[SECTION]`` of FILE like DevStack does: an existing option line of that
section is replaced, a new one is inserted right after the section header,
and a missing section (or file) is appended.  Every other line is kept.
"""

import sys


def iniset(path, section, option, value):
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = []
    header = '[%s]' % section
    entry = '%s = %s' % (option, value)
    if header not in lines:
        lines += ['', header, entry]
    else:
        start = lines.index(header)
        end = start + 1
        while end < len(lines) and not lines[end].startswith('['):
            end += 1
        for i in range(start + 1, end):
            name, sep, _ = lines[i].partition('=')
            if sep and name.strip() == option:
                lines[i] = entry
                break
        else:
            lines.insert(start + 1, entry)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    iniset(*sys.argv[1:5])
