#!/bin/bash
#
# plugin.sh - DevStack plugin script of watcher-informed
#
# Sourced by stack.sh, unstack.sh and clean.sh as
# "plugin.sh <mode> [phase]"; see devstack/README.rst.

# Save trace setting
_XTRACE_WATCHER_INFORMED_PLUGIN=$(set +o | grep xtrace)
set -o xtrace

source "$(dirname "${BASH_SOURCE[0]}")/lib/watcher-informed"

if watcher_informed_enabled; then
    if [[ "${1:-}" == "stack" && "${2:-}" == "pre-install" ]]; then
        watcher_informed_check_plugin_order

    elif [[ "${1:-}" == "stack" && "${2:-}" == "install" ]]; then
        echo_summary "Installing watcher-informed into Watcher's environment"
        install_watcher_informed

    elif [[ "${1:-}" == "stack" && "${2:-}" == "post-config" ]]; then
        echo_summary "Configuring watcher-informed"
        configure_watcher_informed

    elif [[ "${1:-}" == "stack" && "${2:-}" == "extra" ]]; then
        # Nothing to do: watcher-decision-engine syncs the new goal and
        # strategy into Watcher's database when Watcher's plugin starts it.
        :
    fi

    if [[ "${1:-}" == "unstack" ]]; then
        # Nothing to stop: the plugin runs inside Watcher's services.
        :
    fi

    if [[ "${1:-}" == "clean" ]]; then
        cleanup_watcher_informed
    fi
fi

# Restore xtrace
$_XTRACE_WATCHER_INFORMED_PLUGIN
