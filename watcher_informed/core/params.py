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

"""Every number the core decides with, in one frozen value.

Contract: :class:`Params` is built once per audit (by the strategy from its
audit parameters and deploy-time options, or by tests directly) and
validated by :func:`Params.validate`, which names the offending field.  The
defaults come from the paper (Tables 1-2, sections 3.2-3.4) or, where the
paper is silent, from Nova's libvirt defaults; each default says which.
"""

import dataclasses
import types
import typing

from watcher_informed.core import kinds
from watcher_informed.core import paper

CLASSES = kinds.CLASSES

#: Table 2 / section 3.2 defaults and section 3.4 class weights
#: (see ``paper``).
DEFAULT_INTERFERENCE = paper.INTERFERENCE
DEFAULT_CLASS_WEIGHT = paper.CLASS_WEIGHT


class ParamError(ValueError):
    """An invalid parameter; ``field`` names it."""

    def __init__(self, field, message):
        super().__init__('%s: %s' % (field, message))
        self.field = field


def interference_key(a, b):
    """Order-independent key of the interference matrix."""
    return (a, b) if a <= b else (b, a)


@dataclasses.dataclass(frozen=True)
class Params:
    """Thresholds, cost-model inputs and limits of one audit."""

    # -- overload (section 2: a host is overloaded above a threshold) --
    cpu_threshold: float = 0.8
    ram_threshold: float = 0.9
    disk_io_threshold: float = 0.8
    net_threshold: float = 0.8
    #: a host counts as relieved at threshold - target_margin.
    target_margin: float = 0.1
    host_disk_io_mibps: float = 500.0
    host_net_mibps: float = 1250.0

    # -- classification thresholds (per instance) --
    cpu_heavy: float = 0.25
    disk_heavy_mibps: float = 1.0
    net_heavy_mibps: float = 0.1
    dirty_heavy_mibps: float = 16.0
    idle_cpu: float = 0.05
    idle_disk_mibps: float = 0.05
    idle_net_mibps: float = 0.01

    # -- pre-copy cost model (Nova libvirt defaults where they exist) --
    bandwidth_mibps: float = 1250.0
    downtime_limit_ms: float = 500.0
    max_rounds: int = 30
    #: 0 means the stop-and-copy phase runs at ``bandwidth_mibps``.
    stop_copy_mibps: float = 0.0
    fixed_downtime_ms: float = 10.0
    #: dirty rate assumed when the metric is missing.
    assumed_dirty_mibps: float = 0.0

    # -- section 3.3 interference on other migrations (time, downtime) --
    dirty_on_source_time: float = 1.3
    netrx_on_dest_time: float = 1.3
    netrx_on_dest_downtime: float = 1.5
    web_on_source_time: float = 1.4
    web_on_source_downtime: float = 1.5

    # -- limits --
    max_migrations: int = 50
    max_out_per_host: int = 1
    max_in_per_host: int = 1
    max_parallel: int = 0
    exact_select_limit: int = 12

    # -- placement weights --
    interference: typing.Mapping[tuple, float] = dataclasses.field(
        default_factory=lambda: DEFAULT_INTERFERENCE)
    class_weight: typing.Mapping[str, float] = dataclasses.field(
        default_factory=lambda: DEFAULT_CLASS_WEIGHT)
    communication_bonus: float = 1.0
    soft_anti_affinity_penalty: float = 1.0
    headroom_weight: float = 0.5

    # -- trust over time (cost-benefit gate, no ping-pong) --
    #: 1 (move only for an overwhelming benefit) .. 5 (move eagerly).
    aggressiveness: int = 3
    #: seconds the new placement is expected to hold (benefit horizon).
    horizon_s: float = 3600.0
    #: rest after one migration; doubles with each recent one, capped.
    cooldown_s: float = 3600.0
    cooldown_cap_s: float = 86400.0
    history_window_s: float = 86400.0

    seed: int = 0

    def thresholds(self):
        return {'cpu': self.cpu_threshold, 'ram': self.ram_threshold,
                'disk_io': self.disk_io_threshold,
                'net': self.net_threshold}

    def targets(self):
        return {k: max(0.0, v - self.target_margin)
                for k, v in self.thresholds().items()}

    def pair_penalty(self, a, b):
        return self.interference.get(interference_key(a, b), 0.0)

    def with_interference(self, overrides):
        """A copy whose matrix has ``overrides`` ({"a+b": value}) applied."""
        matrix = dict(self.interference)
        for key, value in overrides.items():
            parts = key.split('+')
            if len(parts) != 2 or not all(p in CLASSES for p in parts):
                raise ParamError(
                    'interference_overrides',
                    '%r is not "<class>+<class>" with classes from %s'
                    % (key, ', '.join(CLASSES)))
            matrix[interference_key(*parts)] = float(value)
        return dataclasses.replace(
            self, interference=types.MappingProxyType(matrix))

    def validate(self):
        """Raise :class:`ParamError` naming the first invalid field."""
        for name in ('cpu_threshold', 'ram_threshold', 'disk_io_threshold',
                     'net_threshold'):
            _check_range(name, getattr(self, name), 0.0, 1.0, low_open=True)
        _check_range('target_margin', self.target_margin, 0.0, 0.5)
        for name in ('host_disk_io_mibps', 'host_net_mibps',
                     'bandwidth_mibps'):
            _check_range(name, getattr(self, name), 0.0, None,
                         low_open=True)
        for name in ('downtime_limit_ms', 'stop_copy_mibps',
                     'fixed_downtime_ms', 'assumed_dirty_mibps',
                     'communication_bonus', 'soft_anti_affinity_penalty',
                     'headroom_weight', 'cpu_heavy', 'disk_heavy_mibps',
                     'net_heavy_mibps', 'dirty_heavy_mibps', 'idle_cpu',
                     'idle_disk_mibps', 'idle_net_mibps'):
            _check_range(name, getattr(self, name), 0.0, None)
        for name in ('dirty_on_source_time', 'netrx_on_dest_time',
                     'netrx_on_dest_downtime', 'web_on_source_time',
                     'web_on_source_downtime'):
            _check_range(name, getattr(self, name), 1.0, 10.0)
        _check_int('max_rounds', self.max_rounds, 1)
        _check_int('max_migrations', self.max_migrations, 0)
        _check_int('max_out_per_host', self.max_out_per_host, 1)
        _check_int('max_in_per_host', self.max_in_per_host, 1)
        _check_int('max_parallel', self.max_parallel, 0)
        _check_int('exact_select_limit', self.exact_select_limit, 0)
        _check_int('aggressiveness', self.aggressiveness, 1)
        if self.aggressiveness > 5:
            raise ParamError('aggressiveness', 'must be <= 5, got %d'
                             % self.aggressiveness)
        for name in ('horizon_s', 'cooldown_s', 'cooldown_cap_s',
                     'history_window_s'):
            _check_range(name, getattr(self, name), 0.0, None)
        for key, value in self.interference.items():
            _check_range('interference_overrides', value, 0.0, 1.0)
        return self


def _check_range(name, value, low, high, low_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(name, 'must be a number, got %r' % (value,))
    if value != value:
        raise ParamError(name, 'must be a number, got NaN')
    if (value < low) or (low_open and value == low):
        raise ParamError(name, 'must be %s %g, got %g'
                         % ('>' if low_open else '>=', low, value))
    if high is not None and value > high:
        raise ParamError(name, 'must be <= %g, got %g' % (high, value))


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(name, 'must be an integer, got %r' % (value,))
    if value < low:
        raise ParamError(name, 'must be >= %d, got %d' % (low, value))
