#!/bin/sh
# The send engine's layering (issue 12), checked on the source:
# - no strategy (src/send*.c, src/sender.h) nor the pin module includes
#   conn.h or worker.h, or mentions struct zc_conn: the engine knows no
#   connection, only struct zc_send and its owner's callbacks;
# - no strategy branches on TLS: what a transport can do is asked through
#   its caps (transport.h), never whether it is TLS;
# - the include graph of src/ has no cycle through the engine (its
#   modules: send*.c/h, sender.h, zerocopy.c/h; a module is X.c with X.h).
src=${ZC_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/src
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 not installed"; exit 77; }
python3 - "$src" <<'PY'
import glob, os, re, sys
src = sys.argv[1]
bad = 0
def fail(msg):
    global bad
    print("FAIL " + msg)
    bad = 1
engine_files = sorted(glob.glob(os.path.join(src, "send*.[ch]")) +
                      [os.path.join(src, f) for f in ("sender.h", "zerocopy.c", "zerocopy.h")])
for f in engine_files:
    text = open(f).read()
    name = os.path.basename(f)
    for inc in re.findall(r'#include "([^"]+)"', text):
        if inc in ("conn.h", "worker.h"):
            fail("%s includes %s" % (name, inc))
    if "struct zc_conn" in text:
        fail("%s mentions struct zc_conn" % name)
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    if re.search(r"\bSSL_|\bssl\b|->ssl|openssl", code):
        fail("%s calls or tests TLS itself (ask the transport)" % name)
print("ok   %d engine files checked for connection and TLS knowledge" % len(engine_files))

def module(path):
    b = os.path.basename(path).rsplit(".", 1)[0]
    if b.startswith("llhttp"):
        return None
    if b.startswith("send") or b in ("sender", "zerocopy"):
        return "ENGINE"
    return b
edges = {}
for f in glob.glob(os.path.join(src, "*.[ch]")):
    m = module(f)
    if not m:
        continue
    for inc in re.findall(r'#include "([^"]+)"', open(f).read()):
        t = module(inc)
        if t and t != m and os.path.exists(os.path.join(src, inc)):
            edges.setdefault(m, set()).add(t)
# a path from the engine back to itself
path = {"ENGINE": None}
todo = ["ENGINE"]
cycle = None
while todo and not cycle:
    x = todo.pop(0)
    for y in sorted(edges.get(x, ())):
        if y == "ENGINE":
            cycle = [y, x]
            while path[x]:
                x = path[x]
                cycle.append(x)
            break
        if y not in path:
            path[y] = x
            todo.append(y)
if cycle:
    fail("include cycle through the send engine: " + " -> ".join(reversed(cycle)))
else:
    print("ok   no include cycle through the send engine (it reaches: %s)"
          % ", ".join(sorted(set(path) - {"ENGINE"})))
sys.exit(bad)
PY
