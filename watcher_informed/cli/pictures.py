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
per host lane; each bar is labelled with its step, instance and
destination and the steps it waits for (``3 vm-a -> compute-2 (after
1,2)``), coloured by workload class, with the
predicted downtime drawn as a black tick at its end, and an arrow from
each parent's end to the start of the move that waits for it (the
action-plan DAG).  The load chart has one panel per load dimension (CPU,
RAM, disk I/O, network): every host's load before and after the plan with
that dimension's threshold; a dimension some host exceeds is named in its
panel's title and those hosts' bars are outlined in red.  Matplotlib (the
``plots`` extra) is imported only when drawing (Agg backend), so the rest
of the command works without it.
"""

import pathlib

COLOURS = {'cpu': '#1f77b4', 'memory': '#d62728', 'disk_io': '#8c564b',
           'net_rx': '#9467bd', 'web': '#ff7f0e', 'idle': '#7f7f7f',
           'unknown': '#bcbd22'}
#: load dimension -> (audit threshold parameter, axis label).
DIMENSIONS = (
    ('cpu', 'cpu_threshold', 'CPU (busy cores / cores)'),
    ('ram', 'ram_threshold', 'RAM (used / physical)'),
    ('disk_io', 'disk_io_threshold', 'disk I/O (rate / host capacity)'),
    ('net', 'net_threshold', 'network (rate / host capacity)'),
)


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    return pyplot


def move_label(action, step_of=None):
    """``step name -> destination [after steps]`` of one action."""
    label = '%d %s -> %s' % (action['step'], action['name'][:14],
                             action['destination'])
    after = sorted((step_of or {}).get(p) for p in action['parents']
                   if p in (step_of or {}))
    if after:
        label += ' (after %s)' % ','.join(str(s) for s in after)
    return label


def dependencies(doc):
    """``[(parent action, child action)]`` of the plan's DAG."""
    by_uuid = {a['action_uuid']: a for a in doc['actions']}
    return [(by_uuid[p], a) for a in doc['actions'] for p in a['parents']
            if p in by_uuid]


def gantt(doc, pyplot):
    actions = doc['actions']
    lanes = sorted({a['lane'] for a in actions})
    fig, ax = pyplot.subplots(figsize=(11, 1.4 + 0.6 * max(len(lanes), 1)))
    step_of = {a['action_uuid']: a['step'] for a in actions}
    for a in actions:
        row = lanes.index(a['lane'])
        width = a['end_s'] - a['start_s']
        ax.barh(row, width, left=a['start_s'], height=0.6,
                color=COLOURS.get(a['class'], '#333333'),
                edgecolor='black', linewidth=0.4)
        ax.barh(row, max(a['downtime_s'], width * 0.01),
                left=a['end_s'] - a['downtime_s'], height=0.6,
                color='black')
        ax.text(a['start_s'] + width / 2, row, move_label(a, step_of),
                ha='center',
                va='center', fontsize=6, color='white')
    for parent, child in dependencies(doc):
        ax.annotate('', xy=(child['start_s'], lanes.index(child['lane'])),
                    xytext=(parent['end_s'], lanes.index(parent['lane'])),
                    arrowprops={'arrowstyle': '->', 'color': '#444444',
                                'linewidth': 0.7,
                                'connectionstyle': 'arc3,rad=0.2'})
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(lanes)
    ax.invert_yaxis()
    ax.set_xlabel('predicted time (s); black: downtime; arrows: waits for')
    ax.set_title('Live-migration plan (%d moves, makespan %.1f s)'
                 % (len(actions), doc['efficacy'].get('predicted_makespan',
                                                      0.0)))
    used = sorted({a['class'] for a in actions})
    ax.legend(handles=[pyplot.Rectangle((0, 0), 1, 1, color=COLOURS.get(
        c, '#333333')) for c in used], labels=used, loc='upper left',
        bbox_to_anchor=(1.0, 1.0), fontsize=7)
    fig.tight_layout()
    return fig


def overloaded(doc):
    """``{dimension: [hosts above its threshold before the plan]}``."""
    out = {}
    for dim, param, _ in DIMENSIONS:
        threshold = doc['parameters'].get(param)
        if threshold is None:
            continue
        hosts = sorted(h for h, load in doc['loads_before'].items()
                       if load.get(dim, 0.0) > threshold + 1e-12)
        if hosts:
            out[dim] = hosts
    return out


def host_load(doc, pyplot):
    before = doc['loads_before']
    after = doc['loads_after']
    hosts = sorted(before)
    hot = overloaded(doc)
    fig, axes = pyplot.subplots(len(DIMENSIONS), 1, sharex=True,
                                figsize=(max(7, 0.6 * len(hosts)), 9))
    xs = range(len(hosts))
    for ax, (dim, param, label) in zip(axes, DIMENSIONS):
        edges = ['#d62728' if h in hot.get(dim, ()) else 'black'
                 for h in hosts]
        ax.bar([x - 0.2 for x in xs],
               [before[h].get(dim, 0.0) for h in hosts], width=0.4,
               label='before', color='#c7c7c7', edgecolor=edges,
               linewidth=[1.5 if e != 'black' else 0.4 for e in edges])
        ax.bar([x + 0.2 for x in xs],
               [after.get(h, {}).get(dim, 0.0) for h in hosts], width=0.4,
               label='after', color='#1f77b4', edgecolor='black',
               linewidth=0.4)
        threshold = doc['parameters'].get(param)
        if threshold is not None:
            ax.axhline(threshold, color='#d62728', linestyle='--',
                       label='%s %.2f' % (param, threshold))
        title = label
        if dim in hot:
            title += ': overloaded on %s' % ', '.join(hot[dim])
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc='upper right')
    axes[-1].set_xticks(list(xs))
    axes[-1].set_xticklabels(hosts, rotation=45, ha='right', fontsize=7)
    fig.suptitle('Host load before and after the plan (%s)' % (
        'overloaded: ' + ', '.join(sorted(hot)) if hot else
        'no host overloaded'), fontsize=10)
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
