#!/usr/bin/env python3
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
"""The cost model against real QEMU pre-copy live migrations.

    python -m bench.qemu_precopy [--json PATH]
    python -m bench.qemu_precopy --run [--no-wait]
    python -m bench.qemu_precopy --output bench/QEMU-RESULTS.md

Prints predicted vs measured (total time, data sent, downtime,
convergence) for the grid of tests/hypervisor as a Markdown table, plus
the paper's Fig. 1 view of the measurements.  By default it reads
bench/out/qemu_precopy.json, which ``pytest tests/hypervisor`` writes;
``--run`` migrates the grid first (about 10 minutes; prepare the host with
``bash tools/qemu/setup.sh``) and writes that JSON.  ``--output`` also
writes the results page (bench/QEMU-RESULTS.md).
"""

import argparse
import pathlib
import sys

from tests.hypervisor import grid
from tests.hypervisor import harness

PAGE = """\
# Cost model vs real pre-copy live migrations (QEMU)

Regenerate (about 10 minutes; needs root once for the setup):

    bash tools/qemu/setup.sh
    python -m bench.qemu_precopy --run --output bench/QEMU-RESULTS.md

or, after `pytest tests/hypervisor` (which writes
bench/out/qemu_precopy.json), without migrating again:

    python -m bench.qemu_precopy --output bench/QEMU-RESULTS.md

Each row is one real migration between two QEMU processes on 127.0.0.1
(TCG, one vCPU, a Debian kernel and a static dirtying program; see
doc/source/cost-model.rst).  M is the guest's memory, W the working set
the guest dirties sequentially at D MiB/s, B QEMU's max-bandwidth.
The "full" guest fills its memory with non-zero data; the "freed" guest
touched all its memory and freed it again, so its resident size is
several times its used memory.
"meas" is QEMU's own `query-migrate` (total-time, ram.transferred,
downtime).  Non-converging points were migrated %(nonconv)d times, the
other %(short_bw)d MiB/s points %(short)d times, the rest once (interleaved); a
point's row is its fastest run (other work on the 2-core host can only
slow a migration down), the downtime column also gives the median of its
runs, and "dest alive" counts its runs.
"pred" is
`watcher_informed.core.cost.precopy()` fed, as the planner is, with the
guest's host-side resident size as the first round (the Rss of QEMU's
guest-RAM mapping just before the migration; "round 1 = used" is the
same prediction from the guest's used memory, what the planner took
before issue 17), the nominal D, W, B, the downtime limit, a
%(rounds)d-round cap (QEMU never gives up; the harness forces
stop-and-copy after %(syncs)d bitmap syncs) and the calibrated
stop-and-copy rate and fixed downtime.  Errors are predicted/measured - 1.
Measured %(started)s.

%(table)s
"""


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m bench.qemu_precopy',
        description=__doc__.split('\n\n')[0])
    parser.add_argument('--json', default=str(grid.RESULTS),
                        help='results JSON to read (or write with --run)')
    parser.add_argument('--run', action='store_true',
                        help='migrate the grid first')
    parser.add_argument('--no-wait', action='store_true',
                        help='with --run: do not wait for a quiet host')
    parser.add_argument('--output', help='also write the results page here')
    args = parser.parse_args(argv)
    if args.run:
        try:
            assets = harness.assets()
        except harness.Unavailable as exc:
            parser.error(str(exc))
        results = grid.run(
            assets, out=args.json,
            log=lambda msg: print(msg, file=sys.stderr, flush=True),
            load_wait_s=0 if args.no_wait else grid.LOAD_WAIT_S)
    else:
        path = pathlib.Path(args.json)
        if not path.is_file():
            parser.error('%s not found: run pytest tests/hypervisor or '
                         'pass --run' % path)
        results = grid.load(path)
    table = grid.markdown(results)
    print(table)
    if args.output:
        meta = results['meta']
        pathlib.Path(args.output).write_text(PAGE % {
            'nonconv': meta['repeats']['non_converging'],
            'short': meta['repeats']['short'],
            'short_bw': max(grid.BANDWIDTH_MIBPS),
            'rounds': meta['model_max_rounds'],
            'syncs': meta['force_after_syncs'],
            'started': meta['started'], 'table': table})
    return 0


if __name__ == '__main__':
    sys.exit(main())
