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

"""Dirty rate and writable working set from several measurement windows.

Contract: :func:`estimate` turns page-sampling measurements of one guest
-- ``(t_i, r_i)``: a window of ``t_i`` seconds and the rate QEMU reported
for it, in MiB/s -- into an :class:`Estimate` of the guest's memory dirty
rate ``D`` (MiB/s) and writable working set ``W`` (MiB), the two dirty
inputs of the pre-copy model (:mod:`.cost`, the paper's section 3.1).
Pure: stdlib only, no I/O.

What one window measures.  QEMU's ``page-sampling`` mode hashes sampled
pages at the start and at the end of the window and counts those that
changed, so it reports the *distinct* memory changed within the window
divided by its length::

    r(t) = min(W, D t) / t        c(t) = r(t) t = min(W, D t)

One window cannot tell ``D`` from ``W``: ``r = 10`` over 4 s is a guest
dirtying 10 MiB/s in a large set or one rewriting a 40 MiB set faster.
Two or more windows can, because ``c`` grows linearly with ``t`` until it
saturates at ``W``.  Since ``r(t) <= D`` and ``c(t) <= W`` for every
window, the rules are, with ``D0`` the rate of the shortest window and
``W0`` the changed size of the longest:

* a window is *unsaturated* when ``c_i <= (1 - tolerance) W0``; ``D`` is
  the pooled rate of the unsaturated windows, ``sum c_i / sum t_i``;
* a window is *saturated* when ``r_i <= (1 - tolerance) D0``; ``W`` is
  the mean ``c_i`` of the saturated windows.

Identifiability.  ``D`` is measured only if the shortest window is
unsaturated (``D t_short < W``) and ``W`` only if the longest one is
saturated (``D t_long > W``).  Otherwise the value reported is a lower
bound and the estimate says so:

* neither window saturated (all rates equal): ``D`` is exact, ``W`` is
  reported as ``D t_long`` (``wss_exact`` false: the set is at least that
  large; a longer window would tell);
* every window saturated (all changed sizes equal): ``W`` is exact, ``D``
  is reported as ``W / t_short`` (``rate_exact`` false: the guest dirties
  at least that fast; a shorter window would tell);
* nothing changed in any window: ``D = W = 0``, both exact (an idle guest
  has no dirty set to resend).

``tolerance`` absorbs the sampling noise of QEMU's estimate (it samples
512 pages per GiB) and the 1 MiB/s resolution libvirt reports.
"""

import dataclasses

#: Default relative tolerance between windows (see the module docstring).
TOLERANCE = 0.15


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One window: its length in seconds and the MiB/s reported for it."""

    seconds: float
    mibps: float

    @property
    def changed_mib(self):
        """Distinct memory changed within the window, ``c = r t``."""
        return self.mibps * self.seconds


@dataclasses.dataclass(frozen=True)
class Estimate:
    """Dirty rate (MiB/s) and writable working set (MiB) of one guest.

    ``rate_exact`` / ``wss_exact`` are false when the value is only a
    lower bound (the windows could not identify it).
    """

    dirty_mibps: float
    wss_mib: float
    rate_exact: bool
    wss_exact: bool


def _check(measurements, tolerance):
    if not 0.0 <= tolerance < 1.0:
        raise ValueError('tolerance must be in [0, 1), not %r' % tolerance)
    for m in measurements:
        if not m.seconds > 0:
            raise ValueError('window lengths must be positive: %r' % (m,))
        if not m.mibps >= 0:
            raise ValueError('rates must be >= 0: %r' % (m,))
    if len({m.seconds for m in measurements}) < 2:
        raise ValueError('need at least two different window lengths, got '
                         '%s' % sorted(m.seconds for m in measurements))


def _pooled_rate(windows):
    return (sum(m.changed_mib for m in windows)
            / sum(m.seconds for m in windows))


def _mean_changed(windows):
    return sum(m.changed_mib for m in windows) / len(windows)


def estimate(measurements, tolerance=TOLERANCE):
    """The :class:`Estimate` of ``D`` and ``W`` from >= 2 window lengths.

    ``measurements`` are :class:`Measurement` (or ``(seconds, mibps)``
    pairs), in any order; repeated lengths are all used.  Raises
    ValueError for fewer than two distinct lengths, a non-positive length
    or a negative (or NaN) rate.
    """
    windows = sorted((m if isinstance(m, Measurement) else Measurement(*m)
                      for m in measurements), key=lambda m: m.seconds)
    _check(windows, tolerance)
    shortest = [m for m in windows if m.seconds == windows[0].seconds]
    longest = [m for m in windows if m.seconds == windows[-1].seconds]
    d0 = max(m.mibps for m in shortest)
    w0 = max(m.changed_mib for m in longest)
    if w0 == 0:
        return Estimate(0.0, 0.0, True, True)
    unsaturated = [m for m in windows
                   if m.changed_mib <= (1.0 - tolerance) * w0]
    # (a window where nothing changed says nothing about saturation)
    saturated = [m for m in windows if m.changed_mib > 0
                 and m.mibps <= (1.0 - tolerance) * d0]
    if unsaturated and saturated:
        return Estimate(_pooled_rate(unsaturated), _mean_changed(saturated),
                        True, True)
    if not saturated:
        # every rate equal: the longest window did not fill the set
        rate = _pooled_rate(windows)
        return Estimate(rate, rate * windows[-1].seconds, True, False)
    # every changed size equal: even the shortest window filled the set
    wss = _mean_changed(windows)
    return Estimate(wss / windows[0].seconds, wss, False, True)
