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


"""The agent's only contact with libvirt: list domains, start, read.

Contract: :class:`LibvirtHypervisor` is the thin adapter between the
scheduling logic of :mod:`.dirtyrate` and python-libvirt (imported when
the adapter connects, so the rest of the package never needs it).  It
offers exactly what the agent needs:

* :meth:`~LibvirtHypervisor.connect` / :meth:`~LibvirtHypervisor.close`;
* :meth:`~LibvirtHypervisor.running_domains` -- ``[Domain(uuid, name,
  handle)]`` of the running domains (the libvirt domain UUID is the Nova
  instance UUID);
* :meth:`~LibvirtHypervisor.start` -- ``virDomain.startDirtyRateCalc`` in
  ``page-sampling`` mode (the only mode that works on every accelerator:
  ``dirty-bitmap`` crashes QEMU 7.2 under TCG and ``dirty-ring`` needs
  KVM's dirty ring);
* :meth:`~LibvirtHypervisor.result` -- the ``dirtyrate.*`` fields of
  ``virConnect.domainListGetStats`` as a :class:`Result`.

Every libvirt error is raised as one of three exceptions, so that the
caller can isolate it: :class:`DomainGone` (the domain stopped or was
undefined), :class:`ConnectionLost` (libvirtd went away or restarted: the
caller reconnects) or :class:`DomainError` (anything else about that one
domain).
"""

import collections
import dataclasses
import logging

LOG = logging.getLogger(__name__)

#: ``dirtyrate.calc_status`` values (virDomainDirtyRateStatus).
UNSTARTED, MEASURING, MEASURED = 0, 1, 2

Domain = collections.namedtuple('Domain', 'uuid name handle')


class HypervisorError(Exception):
    """A libvirt call failed (base class)."""


class ConnectionLost(HypervisorError):
    """The connection to libvirtd is unusable; reconnect."""


class DomainGone(HypervisorError):
    """The domain is no longer running (or no longer exists)."""


class DomainError(HypervisorError):
    """A call about one domain failed; other domains are unaffected."""


@dataclasses.dataclass(frozen=True)
class Result:
    """State of a domain's last dirty-rate calculation.

    ``status`` is :data:`UNSTARTED`, :data:`MEASURING` or
    :data:`MEASURED`; ``seconds`` is the window it was started with and
    ``mibps`` QEMU's answer (an integer number of MiB/s, only when
    measured).
    """

    status: int
    seconds: int = 0
    mibps: float = 0.0


def parse_stats(stats):
    """A :class:`Result` from one domain's ``domainListGetStats`` dict."""
    status = int(stats.get('dirtyrate.calc_status', UNSTARTED))
    return Result(status, int(stats.get('dirtyrate.calc_period', 0)),
                  float(stats.get('dirtyrate.megabytes_per_second', 0)))


class LibvirtHypervisor:
    """python-libvirt behind the three calls the agent makes."""

    def __init__(self, uri, module=None):
        self.uri = uri
        self._libvirt = module
        self._conn = None

    @property
    def libvirt(self):
        if self._libvirt is None:
            import libvirt
            # libvirt prints every error on stderr by default; they are
            # raised (and logged per domain) instead.
            libvirt.registerErrorHandler(lambda ctx, err: None, None)
            self._libvirt = libvirt
        return self._libvirt

    @property
    def connected(self):
        return self._conn is not None

    def connect(self):
        lv = self.libvirt
        try:
            self._conn = lv.open(self.uri)
        except lv.libvirtError as exc:
            self._conn = None
            raise ConnectionLost('cannot connect to %s: %s'
                                 % (self.uri, exc)) from exc
        LOG.info('connected to %s', self.uri)

    def close(self):
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.close()
        except Exception:  # noqa: BLE001, S110 - already broken
            pass

    def _alive(self):
        try:
            return bool(self._conn is not None and self._conn.isAlive())
        except Exception:  # noqa: BLE001 - a dead connection may raise
            return False

    def _raise(self, exc, what):
        lv = self.libvirt
        code = exc.get_error_code()
        if code in (lv.VIR_ERR_NO_DOMAIN, lv.VIR_ERR_OPERATION_INVALID):
            raise DomainGone('%s: %s' % (what, exc)) from exc
        if not self._alive() or code in (
                lv.VIR_ERR_SYSTEM_ERROR, lv.VIR_ERR_RPC,
                lv.VIR_ERR_NO_CONNECT, lv.VIR_ERR_INVALID_CONN):
            raise ConnectionLost('%s: %s' % (what, exc)) from exc
        raise DomainError('%s: %s' % (what, exc)) from exc

    def _need_conn(self):
        if self._conn is None:
            raise ConnectionLost('not connected to %s' % self.uri)
        return self._conn

    def running_domains(self):
        lv = self.libvirt
        conn = self._need_conn()
        try:
            doms = conn.listAllDomains(lv.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
        except lv.libvirtError as exc:
            if not self._alive() or exc.get_error_code() in (
                    lv.VIR_ERR_SYSTEM_ERROR, lv.VIR_ERR_RPC,
                    lv.VIR_ERR_NO_CONNECT, lv.VIR_ERR_INVALID_CONN):
                raise ConnectionLost('listing domains: %s' % exc) from exc
            raise HypervisorError('listing domains: %s' % exc) from exc
        out = []
        for dom in doms:
            try:
                out.append(Domain(dom.UUIDString(), dom.name(), dom))
            except lv.libvirtError:
                continue        # went away while listing
        return out

    def start(self, handle, seconds):
        lv = self.libvirt
        self._need_conn()
        try:
            handle.startDirtyRateCalc(
                int(seconds), lv.VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING)
        except lv.libvirtError as exc:
            self._raise(exc, 'startDirtyRateCalc(%d s)' % seconds)

    def result(self, handle):
        lv = self.libvirt
        conn = self._need_conn()
        try:
            stats = conn.domainListGetStats(
                [handle], lv.VIR_DOMAIN_STATS_DIRTYRATE)
        except lv.libvirtError as exc:
            self._raise(exc, 'domainListGetStats(dirtyrate)')
        if not stats:
            raise DomainGone('no statistics (domain not running)')
        return parse_stats(stats[0][1])
