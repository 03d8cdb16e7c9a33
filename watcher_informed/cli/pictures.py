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

"""Pictures of a plan: a Gantt chart and host load before/after.

Contract: :func:`write_all` takes the stable JSON document of a run (see
``main.to_document``) and writes ``plan-gantt`` and ``host-load`` as PNG
and SVG into a directory, returning the paths.  The Gantt chart has one row
per host lane, bars coloured by workload class with the predicted downtime
drawn as a black tick at the end of each bar; the load chart shows each
host's CPU load before and after the plan with the threshold line.
Matplotlib is imported lazily (Agg backend) so the rest of the command works
without it.
"""

import pathlib

COLOURS = {'cpu': '#1f77b4', 'memory': '#d62728', 'disk_io': '#8c564b',
           'net_rx': '#9467bd', 'web': '#ff7f0e', 'idle': '#7f7f7f',
           'unknown': '#bcbd22'}


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    return pyplot


def gantt(doc, pyplot):
    actions = doc['actions']
    lanes = sorted({a['lane'] for a in actions})
    fig, ax = pyplot.subplots(figsize=(10, 1.2 + 0.5 * max(len(lanes), 1)))
    for a in actions:
        row = lanes.index(a['lane'])
        width = a['end_s'] - a['start_s']
        ax.barh(row, width, left=a['start_s'], height=0.6,
                color=COLOURS.get(a['class'], '#333333'),
                edgecolor='black', linewidth=0.4)
        ax.barh(row, max(a['downtime_s'], width * 0.01),
                left=a['end_s'] - a['downtime_s'], height=0.6,
                color='black')
        label = '%d %s' % (a['step'], a['name'][:16])
        ax.text(a['start_s'] + width / 2, row, label, ha='center',
                va='center', fontsize=7, color='white')
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(lanes)
    ax.invert_yaxis()
    ax.set_xlabel('predicted time (s); black: downtime')
    ax.set_title('Live-migration plan (%d moves, makespan %.1f s)'
                 % (len(actions), doc['efficacy'].get('predicted_makespan',
                                                      0.0)))
    used = sorted({a['class'] for a in actions})
    ax.legend(handles=[pyplot.Rectangle((0, 0), 1, 1, color=COLOURS[c])
                       for c in used], labels=used, loc='upper left',
              bbox_to_anchor=(1.0, 1.0), fontsize=7)
    fig.tight_layout()
    return fig


def host_load(doc, pyplot):
    before = doc['loads_before']
    after = doc['loads_after']
    hosts = sorted(before)
    fig, ax = pyplot.subplots(figsize=(max(6, 0.6 * len(hosts)), 4))
    xs = range(len(hosts))
    ax.bar([x - 0.2 for x in xs], [before[h]['cpu'] for h in hosts],
           width=0.4, label='before', color='#c7c7c7', edgecolor='black',
           linewidth=0.4)
    ax.bar([x + 0.2 for x in xs], [after[h]['cpu'] for h in hosts],
           width=0.4, label='after', color='#1f77b4', edgecolor='black',
           linewidth=0.4)
    threshold = doc['parameters']['cpu_threshold']
    ax.axhline(threshold, color='#d62728', linestyle='--',
               label='cpu_threshold %.2f' % threshold)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(hosts, rotation=45, ha='right', fontsize=8)
    ax.set_ylabel('CPU load (busy cores / cores)')
    ax.set_title('Host CPU load before and after the plan')
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def write_all(doc, directory):
    """Write both pictures as PNG and SVG; return the written paths."""
    pyplot = _pyplot()
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in (('plan-gantt', gantt), ('host-load', host_load)):
        fig = draw(doc, pyplot)
        for ext in ('png', 'svg'):
            path = directory / ('%s.%s' % (name, ext))
            fig.savefig(path, dpi=120)
            paths.append(path)
        pyplot.close(fig)
    return paths
