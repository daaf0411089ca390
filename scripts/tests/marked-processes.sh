#!/usr/bin/env bash
# Prints `pid command` of every process whose environment holds INVSYNC_RUN_MARKER=<marker>
# (the first argument), one a line; nothing when none. A script run with that variable passes
# it to everything it starts, so this finds them whatever the script recorded of their pids.
# Linux reads /proc/<pid>/environ; macOS `ps -E` (environment after the command).
set -euo pipefail
marker="INVSYNC_RUN_MARKER=$1"
if [[ -r /proc/self/environ ]]; then
    for environ in /proc/[0-9]*/environ; do
        pid="${environ#/proc/}"
        pid="${pid%/environ}"
        [[ "$pid" != "$$" ]] || continue
        # Why the braces: a process that is gone or not ours fails the redirection itself.
        if { tr '\0' '\n' <"$environ"; } 2>/dev/null | grep -qxF "$marker"; then
            echo "$pid $({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | cut -c1-120)"
        fi
    done
else
    ps -E -ww -o pid= -o command= | awk -v m="$marker" -v self="$$" '
        $1 != self { for (i = 2; i <= NF; i++) if ($i == m) { print $1, substr($0, index($0, $2), 120); break } }'
fi
