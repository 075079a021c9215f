#!/bin/sh
# Issue 12, section 3: every ledger event kind written in src/ is specified
# in docs/FORMAT.md (section 15), found by test/check_format_kinds.py over
# the sources and the document (no server needed).
set -u
. "$(dirname "$0")/../lib.sh"
out=$(python3 "$(dirname "$0")/../check_format_kinds.py" 2>&1)
gov_ok $? "every event kind written in src/ is in docs/FORMAT.md: $(echo "$out" | tr '\n' ' ')"
