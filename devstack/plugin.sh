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
        # Nothing to stop for Watcher: the plugin runs inside its services.
        :
    fi

    if [[ "${1:-}" == "clean" ]]; then
        cleanup_watcher_informed
    fi
fi

# The dirty-rate agent, on the nodes that enable it (compute nodes).
if watcher_informed_dirtyrate_enabled; then
    if [[ "${1:-}" == "stack" && "${2:-}" == "install" ]]; then
        if ! watcher_informed_enabled; then
            echo_summary "Installing watcher-informed (dirty-rate agent)"
            install_watcher_informed
        fi

    elif [[ "${1:-}" == "stack" && "${2:-}" == "extra" ]]; then
        echo_summary "Starting watcher-informed-dirtyrate"
        start_watcher_informed_dirtyrate
    fi

    if [[ "${1:-}" == "unstack" ]]; then
        stop_watcher_informed_dirtyrate
    fi

    if [[ "${1:-}" == "clean" ]] && ! watcher_informed_enabled; then
        cleanup_watcher_informed
    fi
fi

# Restore xtrace
$_XTRACE_WATCHER_INFORMED_PLUGIN
