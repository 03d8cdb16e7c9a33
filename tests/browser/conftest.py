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

"""Fixtures of the browser tests (``bash tools/stack/horizon.sh test``).

Contract: the tests drive the real Horizon of ``tools/stack/horizon.sh
up`` (``WI_HORIZON_URL``, default ``http://127.0.0.1:8080``) on the real
stack of ``tools/stack/stack.sh up`` (``WI_STACK_RUN``) with Debian's
Chromium (``WI_CHROMIUM``, default ``/usr/bin/chromium``), headless,
through Playwright; nothing is mocked and nothing is downloaded.  Without
``WI_STACK_RUN`` or without an answering Horizon they fail at once
rather than pass by skipping.  Every screenshot (and the page's text next
to it) goes to ``WI_BROWSER_ARTIFACTS`` (default
``RUN/browser-artifacts``), one more per failed test; with
``WI_DOC_IMAGES`` set, the screenshots the documentation shows are also
written there as ``horizon-<name>.png`` (1280x800, 8-bit palette).
"""

import io
import os
import re
import urllib.request

from PIL import Image
from playwright import sync_api
import pytest

from tests.e2e import client

#: Chromium's flags: no sandbox (root in a container), no GPU, and none
#: of the background traffic a fresh profile starts.
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu',
                 '--disable-quic', '--no-first-run',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--disable-dev-shm-usage']
VIEWPORT = {'width': 1280, 'height': 800}


@pytest.fixture(scope='session')
def stack():
    found = client.from_environment()
    if found is None:
        pytest.fail('WI_STACK_RUN is not set: run these tests with '
                    '"bash tools/stack/horizon.sh test"')
    return found


@pytest.fixture(scope='session')
def horizon_url():
    url = os.environ.get('WI_HORIZON_URL', 'http://127.0.0.1:8080')
    try:
        with urllib.request.urlopen(url + '/auth/login/',  # noqa: S310
                                    timeout=10) as resp:
            assert resp.status == 200
    except OSError as exc:
        pytest.fail('Horizon does not answer on %s (%s): run '
                    '"bash tools/stack/horizon.sh up"' % (url, exc))
    return url


class Shots:
    """Screenshots and page texts of the tests, numbered in order."""

    def __init__(self, artifacts, doc_images):
        self.artifacts = artifacts
        self.doc_images = doc_images
        self.count = 0
        os.makedirs(artifacts, exist_ok=True)
        for name in os.listdir(artifacts):
            if re.match(r'^\d\d-.*\.(png|txt)$', name):
                os.remove(os.path.join(artifacts, name))

    def take(self, page, name, doc=False, full=False):
        """Save the page as ``NN-name.png`` (full page) and its text.

        ``doc``: also the documentation's ``horizon-<name>.png``, the
        1280x800 viewport (``full``: the whole page) reduced to a
        256-colour palette.
        """
        self.count += 1
        base = os.path.join(self.artifacts, '%02d-%s' % (self.count, name))
        page.screenshot(path=base + '.png', full_page=True)
        with open(base + '.txt', 'w') as f:
            f.write(page.locator('body').inner_text())
        if doc and self.doc_images:
            self._doc(page, name, full)
        return base + '.png'

    def _doc(self, page, name, full):
        data = page.screenshot(full_page=full)
        image = Image.open(io.BytesIO(data)).convert('RGB')
        image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        image.save(os.path.join(self.doc_images, 'horizon-%s.png' % name),
                   optimize=True)


@pytest.fixture(scope='session')
def shots(stack):
    artifacts = os.environ.get('WI_BROWSER_ARTIFACTS') or os.path.join(
        stack.run, 'browser-artifacts')
    return Shots(artifacts, os.environ.get('WI_DOC_IMAGES'))


@pytest.fixture(scope='session')
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=os.environ.get('WI_CHROMIUM', '/usr/bin/chromium'),
            headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def login(page, stack):
    page.goto('/auth/login/')
    page.fill('#id_username', 'admin')
    page.fill('#id_password', stack.facts['password'])
    page.click('#loginBtn')
    page.wait_for_url(re.compile(r'.*/(project|admin)/.*'))


@pytest.fixture(scope='module')
def page(browser, horizon_url, stack):
    """A logged-in admin tab; JavaScript errors are collected."""
    context = browser.new_context(viewport=VIEWPORT, base_url=horizon_url,
                                  locale='en-US', timezone_id='UTC')
    context.set_default_timeout(30000)
    tab = context.new_page()
    tab.js_errors = []
    tab.on('pageerror', lambda exc: tab.js_errors.append(str(exc)))
    login(tab, stack)
    yield tab
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, 'report_' + report.when, report)


@pytest.fixture(autouse=True)
def screenshot_on_failure(request, page, shots):
    yield
    report = getattr(request.node, 'report_call', None)
    if report is not None and report.failed:
        try:
            shots.take(page, 'FAILED-' + request.node.name)
        except Exception:  # noqa: S110 - the failure itself is reported
            pass


@pytest.fixture(scope='module')
def fresh(stack):
    """The scenario booted afresh, its metrics scraped, Watcher aware."""
    return client.fresh(stack)
