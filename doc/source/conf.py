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

"""Sphinx configuration for the watcher-informed documentation."""

import os
import sys

# our own extensions (the parameter tables, generated from the code)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '_exts'))

# -- General configuration ------------------------------------------------

extensions = [
    'sphinx.ext.autodoc',
    'openstackdocstheme',
    'oslo_config.sphinxext',
    'parameters',
]

source_suffix = '.rst'
master_doc = 'index'

project = 'watcher-informed'
copyright = '2025, OpenStack Developers'

exclude_patterns = []
add_module_names = True
pygments_style = 'native'

# -- openstackdocstheme ---------------------------------------------------

openstackdocs_repo_name = 'openstack/watcher-informed'
openstackdocs_bug_project = 'watcher-informed'
openstackdocs_bug_tag = ''
openstackdocs_auto_name = False

# -- Options for HTML output ----------------------------------------------

html_theme = 'openstackdocs'
htmlhelp_basename = 'WatcherInformeddoc'
