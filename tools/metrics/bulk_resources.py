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

"""Create many Gnocchi resources fast, through Gnocchi's own indexer.

Run with the Gnocchi venv's python::

    python bulk_resources.py --config-file gnocchi.conf [--workers=4] \\
        < resources.jsonl

Each input line is ``[resource type, body]`` with the body the REST API
takes (``id``, ``project_id``, ``user_id``, attributes, ``metrics`` with
archive policy names).  The benchmark needs thousands of resources: the
single-process API creates about 60 a second on two cores, the indexer
(the same code the API calls, without HTTP, policy and JSON) several
times more.  Resources are created as the API's user ``admin`` would be,
so non-UUID ids (disks, NICs) map to the same UUIDs.  Existing resources
are skipped.
"""

import json
import multiprocessing
import sys
import time

from gnocchi import indexer
from gnocchi import service
from gnocchi import utils

CREATOR = 'admin'
ARGS = []
DATETIMES = ('launched_at', 'created_at', 'deleted_at', 'started_at',
             'ended_at')


def create(lines):
    """Create the resources of some input lines; ``(created, existed)``."""
    conf = service.prepare_service(args=ARGS, log_to_std=False)
    idx = indexer.get_driver(conf)
    created = skipped = 0
    for line in lines:
        rtype, body = json.loads(line)
        body = dict(body)
        original = body.pop('id')
        rid = utils.ResourceUUID(original, CREATOR)
        metrics = body.pop('metrics', None)
        for key in DATETIMES:
            if body.get(key):
                body[key] = utils.to_datetime(body[key])
        try:
            idx.create_resource(rtype, rid, CREATOR,
                                original_resource_id=original,
                                metrics=metrics, **body)
            created += 1
        except indexer.ResourceAlreadyExists:
            skipped += 1
    idx.disconnect()
    return created, skipped


def main():
    global ARGS
    ARGS = [a for a in sys.argv[1:] if not a.startswith('--workers=')]
    workers = int(([a.split('=', 1)[1] for a in sys.argv[1:]
                    if a.startswith('--workers=')] or ['4'])[0])
    lines = [line for line in sys.stdin if line.strip()]
    t0 = time.monotonic()
    chunks = [lines[i::workers] for i in range(workers)]
    with multiprocessing.Pool(workers) as pool:
        results = pool.map(create, chunks)
    print('bulk_resources: %d created, %d existed, %.1f s'
          % (sum(r[0] for r in results), sum(r[1] for r in results),
             time.monotonic() - t0))


if __name__ == '__main__':
    main()
