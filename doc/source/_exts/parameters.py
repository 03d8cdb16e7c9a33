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

"""Sphinx directive: a parameter table generated from the one declaration.

``.. informed-parameters:: audit`` (or ``deploy``, ``internal``) renders
the rows of :data:`watcher_informed.core.paramtable.TABLE` set at that
time as a table (name, type, default, range, meaning; see
``paramtable.rst_table``), at every docs build, so the documentation
cannot drift from the schema, the options and ``Params``.  The
deploy-time options are also documented in full by
``oslo_config.sphinxext`` from the options generated from the same rows.
"""

from docutils import nodes
from docutils import statemachine
from docutils.parsers.rst import directives
from sphinx.util import docutils as sphinx_docutils

from watcher_informed.core import paramtable


class ParametersDirective(sphinx_docutils.SphinxDirective):
    required_arguments = 1
    option_spec = {}
    has_content = False

    def run(self):
        when = directives.choice(
            self.arguments[0],
            (paramtable.AUDIT, paramtable.DEPLOY, paramtable.INTERNAL))
        lines = statemachine.ViewList(
            paramtable.rst_table(when), source=self.get_source_info()[0])
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(lines, 0, node)
        return node.children


def setup(app):
    app.add_directive('informed-parameters', ParametersDirective)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
