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

import contextlib
import io
import logging

from watcher_informed.cli import main


def test_log_lines_go_to_stderr_as_it_is_when_logged():
    main._setup_logging(False)
    log = logging.getLogger('watcher_informed.test_main')
    first, second = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(first):
        log.warning('one')
    first.close()                       # as a test's capture is
    with contextlib.redirect_stderr(second):
        log.warning('two\x1b[31m')
        log.info('not shown')
    assert second.getvalue() == 'WARNING two\\x1b[31m\n'
