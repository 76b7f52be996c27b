#!/usr/bin/env python3
"""Write the seed corpora under tests/fuzz/corpus/<harness>/.

The seeds are committed; this script documents how they were made and
rewrites them (python3 tests/fuzz/gen-corpus.py). Each harness has its own
input layout (see the comment at the top of its .c file):

  fuzz_request  flags, split count and caps, split sizes, then the bytes a
                client sends on one connection (document root: see
                build_tree() in fuzz_docroot.h)
  fuzz_conn     the same layout with other flag bits (send strategy, small
                send buffer); it is seeded from fuzz_request's corpus too
  fuzz_config   the text of a configuration file, in a directory with www/,
                mime.types, inc.conf, broken.conf, self.conf, conf.d/*.conf
  fuzz_range    size class, 8 size bytes, max ranges, then the Range value
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def write(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- request

KEEP = 0x04                 # flags: server allows keep-alive
CFG0, CFG1, CFG2 = 0, 1, 2  # configurations in fuzz_request.c


def req(name, stream, cfg=CFG0, flags=KEEP, splits=(), caps=0):
    """flags byte, count|caps byte, split sizes (1..256 as n-1), stream."""
    head = bytes([flags | cfg, (len(splits) & 7) | caps])
    head += bytes((s - 1) & 0xff for s in splits)
    write("fuzz_request", name, head + stream.encode("latin-1"))


def get(path, extra="", method="GET", version="HTTP/1.1", host="Host: x\r\n"):
    return f"{method} {path} {version}\r\n{host}{extra}\r\n"


def requests():
    # plain requests, each file and kind of resource
    req("get-root", get("/"))
    req("head-small", get("/small.txt", method="HEAD"))
    req("get-big", get("/big.bin"), caps=0x80)
    req("get-mid-msgzc", get("/mid.html"), flags=KEEP | 0x20)
    req("get-empty", get("/empty.txt"))
    req("get-sub-redirect-query", get("/sub?x=1&y=%20"))
    req("get-space-dir-redirect", get("/d%20x"))
    req("get-autoindex", get("/nodir/"))
    req("get-autoindex-root-cfg2", get("/"), cfg=CFG2)
    req("get-index-cfg1", get("/sub/"), cfg=CFG1)
    req("get-status", get("/zcserve-status") + get("/zcserve-status", method="HEAD"))
    req("get-status-cfg2", get("/s"), cfg=CFG2)
    req("get-utf8-name", get("/%C3%A9t%C3%A9.txt"))
    req("get-odd-names", get("/sp%20ace.txt") + get("/pct%2541.txt") + get("/q%22%3C%3E%26'.txt"))
    req("get-mime", get("/UPPER.JS") + get("/noext") + get("/sub/style.css") + get("/sub/data.json"))
    req("get-deep", get("/a/b/c/") + get("/a/./b/../b/c/index.html") + get("//small.txt"))
    req("get-fifo-loop-dangling", get("/fifo") + get("/loop") + get("/dangling"))
    req("absolute-form", get("http://x/small.txt") + get("https://x:443/sub/") + get("HTTP://X"))
    req("http10", get("/small.txt", version="HTTP/1.0", host=""))
    req("http10-keepalive",
        get("/mid.html", "Connection: keep-alive\r\n", version="HTTP/1.0", host="") +
        get("/", version="HTTP/1.0", host=""))
    req("head-parity", get("/", method="HEAD") + get("/nodir/", method="HEAD") +
        get("/sub", method="HEAD") + get("/missing", method="HEAD") +
        get("/big.bin", "Range: bytes=0-1\r\n", method="HEAD"))

    # pipelines, whole and cut at awkward places
    pipe = (get("/") + get("/sub/", method="HEAD") + get("/sub") + get("/nodir/") +
            get("/zcserve-status") + get("/missing") + get("/small.txt", "Range: bytes=1-3\r\n"))
    req("pipeline-7", pipe)
    req("pipeline-7-split-1", pipe, splits=(1,))
    req("pipeline-7-split-mixed", pipe, splits=(3, 17, 64, 1, 200))
    req("pipeline-7-cfg1-split", pipe, cfg=CFG1, splits=(5, 2))
    req("pipeline-close-middle", get("/") + get("/small.txt", "Connection: close\r\n") + get("/"))
    req("pipeline-no-keepalive", get("/") + get("/"), flags=0)
    req("pipeline-clock-steps", get("/small.txt") * 4, flags=KEEP | 0x10)
    req("pipeline-clock-split", get("/mid.html") * 3, flags=KEEP | 0x18, splits=(30, 90))

    # framing and header syntax that must be refused
    req("no-host", "GET / HTTP/1.1\r\n\r\n")
    req("double-host", get("/", "Host: y\r\n"))
    req("host-space-colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n")
    req("host-empty", "GET / HTTP/1.1\r\nHost:\r\n\r\n")
    req("host-odd", get("/", host="Host: a b@c:99999\r\n") + get("/", host="Host: [::1]:80\r\n"))
    req("obs-fold", get("/", "X-A: a\r\n b\r\n"))
    req("obs-fold-host", "GET / HTTP/1.1\r\nHost: x\r\n\tx\r\n\r\n")
    req("bare-cr", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n")
    req("bare-lf", "GET / HTTP/1.1\nHost: x\n\n")
    req("nul-in-value", get("/", "X: a\x00b\r\n"))
    req("del-in-value", get("/", "X: a\x7fb\r\n"))
    req("bad-header-name", get("/", "X(: y\r\n") + get("/", ": empty\r\n"))
    req("cl-te", get("/", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n")
    req("dup-cl", get("/", "Content-Length: 1\r\nContent-Length: 2\r\n") + "xy")
    req("dup-cl-same", get("/", "Content-Length: 1\r\nContent-Length: 1\r\n") + "x", cfg=CFG2)
    req("cl-odd", get("/", "Content-Length: -1\r\n") + get("/", "Content-Length: +5\r\n"))
    req("cl-huge", get("/", "Content-Length: 99999999999999999999\r\n"))
    req("cl-body-pipeline-cfg2", get("/", "Content-Length: 5\r\n") + "hello" + get("/small.txt"),
        cfg=CFG2, splits=(20, 3))
    req("cl-body-too-big", get("/", "Content-Length: 5\r\n") + "hello")
    req("chunked-pipeline-cfg2",
        get("/", "Transfer-Encoding: chunked\r\n", method="POST") +
        "5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n" + get("/small.txt"), cfg=CFG2)
    req("chunked-too-big-cfg2",
        get("/", "Transfer-Encoding: chunked\r\n") + "800\r\n" + "z" * 2048 + "\r\n0\r\n\r\n",
        cfg=CFG2)
    req("te-gzip", get("/", "Transfer-Encoding: gzip, chunked\r\n") + "0\r\n\r\n")
    req("te-gzip-only", get("/", "Transfer-Encoding: gzip\r\n"))
    req("te-double", get("/", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") +
        "0\r\n\r\n", cfg=CFG2)
    req("te-http10", get("/", "Transfer-Encoding: chunked\r\n", version="HTTP/1.0") + "0\r\n\r\n")
    req("http09", "GET /\r\n")
    req("http09-split", "GET /small.txt\r\n\r\n", splits=(1,))
    req("http2-version", get("/", version="HTTP/2.0") + get("/", version="HTTP/1.2"))
    req("bad-version", get("/", version="HTTP/1.x") + get("/", version="http/1.1"))
    req("request-line-junk", "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n")
    req("leading-crlf", "\r\n\r\n" + get("/"))
    req("tab-in-request-line", "GET\t/\tHTTP/1.1\r\nHost: x\r\n\r\n")
    req("double-space", "GET  /  HTTP/1.1\r\nHost: x\r\n\r\n")
    req("lowercase-method", "get / HTTP/1.1\r\nHost: x\r\n\r\n")
    req("methods", get("/", method="POST") + get("/", method="PUT") + get("*", method="OPTIONS") +
        get("x:443", method="CONNECT") + get("/", method="DELETE"), cfg=CFG2)
    req("long-method", "G" * 300 + " / HTTP/1.1\r\nHost: x\r\n\r\n")
    req("expect", get("/", "Expect: 100-continue\r\n") + get("/", "Expect: nope\r\n"))
    req("connection-tokens", get("/", "Connection: keep-alive, close\r\n") +
        get("/", "Connection: Upgrade\r\nUpgrade: h2c\r\n"))

    # limits
    req("huge-header-value", get("/", "X-Big: " + "a" * 9000 + "\r\n"))
    req("huge-header-value-split", get("/", "X-Big: " + "a" * 5000 + "\r\n"), splits=(255, 255))
    req("many-headers", get("/", "".join(f"X-{i}: v\r\n" for i in range(120))))
    req("many-headers-cfg1", get("/", "".join(f"X-{i}: v\r\n" for i in range(9))), cfg=CFG1)
    req("long-url", get("/" + "a" * 9000))
    req("long-url-cfg1", get("/" + "b/" * 600), cfg=CFG1)
    req("long-url-cfg2", get("/" + "c" * 5000), cfg=CFG2)
    req("header-16k-cfg2", get("/", "X-Big: " + "a" * 16000 + "\r\n"), cfg=CFG2)

    # traversal, encodings, containment
    trav = ["/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/..%2fsecret.txt",
            "/%252e%252e/secret.txt", "/%c0%ae%c0%ae/secret.txt", "/%c0%af..%c0%afsecret.txt",
            "/sub/..%5c..%5csecret.txt", "/sub\\..\\..\\secret.txt", "/sub/../../secret.txt",
            "/./../secret.txt", "/%2e%2e", "/%2e/%2e%2e/secret.txt", "/small.txt%00.html",
            "/%00", "/%", "/%zz", "/%2", "/sub%0d%0aSet-Cookie:%20x", "/..;/secret.txt"]
    req("traversal", "".join(get(p) for p in trav))
    for i, p in enumerate(trav):
        req(f"traversal-{i:02d}", get(p), flags=0)
    links = ["/link-in", "/link-abs-in", "/link-climb-in", "/link-dir/", "/link-dir",
             "/sub/up/small.txt", "/link-out", "/link-abs-out", "/dir-out/secret.txt", "/dir-out/",
             "/dir-abs-out/index.html", "/link-prefix", "/link-proc", "/link-passwd",
             "/link-slash/etc/passwd", "/link-cwd/", "/sub/out/secret.txt", "/sub/out/"]
    req("symlinks", "".join(get(p) for p in links))
    req("symlinks-cfg1", "".join(get(p) for p in links), cfg=CFG1)
    req("symlinks-cfg2", "".join(get(p) for p in links), cfg=CFG2)
    hidden = ["/.hidden", "/.git/config", "/.git/", "/link-hidden", "/sub/../.hidden", "/%2ehidden"]
    req("hidden", "".join(get(p) for p in hidden))
    req("hidden-cfg1", "".join(get(p) for p in hidden), cfg=CFG1)

    # ranges
    rng = ["bytes=0-0", "bytes=-5", "bytes=5-", "bytes=0-1,3-4", "bytes=0-0,2-2,4-4,6-6,8-8,10-10",
           "bytes=100-200", "bytes=abc", "bytes=1-0", "items=0-1", "bytes=0-1, ,3-4",
           "bytes=" + ",".join(["0-"] * 200), "bytes=" + ",".join(f"{i}-{i + 5}" for i in range(0, 12)),
           "bytes=-0", "bytes=0-18446744073709551615", "bytes=0-18446744073709551616",
           "BYTES=1-2", "bytes = 1-2"]
    req("ranges-small", "".join(get("/small.txt", f"Range: {r}\r\n") for r in rng))
    req("ranges-big", get("/big.bin", "Range: bytes=0-65535,65536-\r\n") +
        get("/big.bin", "Range: bytes=-1,0-0,40000-40001\r\n"), cfg=CFG1)
    req("ranges-cfg2-one", get("/mid.html", "Range: bytes=0-1,10-20\r\n"), cfg=CFG2)
    req("ranges-empty-file", get("/empty.txt", "Range: bytes=0-\r\n") +
        get("/empty.txt", "Range: bytes=-1\r\n"))
    req("range-twice", get("/small.txt", "Range: bytes=0-1\r\nRange: bytes=2-3\r\n"))
    req("range-head", get("/small.txt", "Range: bytes=0-1\r\n", method="HEAD"))
    req("range-overlap-200", get("/big.bin", "Range: bytes=" +
                                 ",".join(f"{i}-{i + 1000}" for i in range(0, 20000, 100)) + "\r\n"),
        cfg=CFG1)
    req("if-range", get("/small.txt", "Range: bytes=0-1\r\nIf-Range: \"nope\"\r\n") +
        get("/small.txt", "Range: bytes=0-1\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n") +
        get("/small.txt", "Range: bytes=0-1\r\nIf-Range: W/\"weak\"\r\n"))

    # conditionals
    cond = ["If-None-Match: *", "If-None-Match: \"x\", W/\"y\"", "If-None-Match: W/\"x\"",
            "If-Modified-Since: Sun, 06 Nov 2094 08:49:37 GMT",
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
            "If-Modified-Since: Sunday, 06-Nov-94 08:49:37 GMT",
            "If-Modified-Since: Sun Nov  6 08:49:37 1994", "If-Modified-Since: garbage",
            "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT", "If-Match: \"nomatch\"",
            "If-Match: *", "If-Match: W/\"weak\"", "If-None-Match: \"x\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT",
            "If-None-Match: *\r\nIf-Match: *"]
    req("conditionals", "".join(get("/small.txt", c + "\r\n") for c in cond))
    req("conditionals-head", "".join(get("/mid.html", c + "\r\n", method="HEAD") for c in cond))
    req("conditionals-dir", "".join(get("/nodir/", c + "\r\n") for c in cond[:4]))
    req("conditionals-range",
        get("/small.txt", "If-None-Match: *\r\nRange: bytes=0-1\r\n") +
        get("/small.txt", "If-Match: *\r\nRange: bytes=0-1\r\n"))


# ---------------------------------------------------------------- conn

STRATEGIES = ["own", "copy", "sendfile", "mmap", "splice", "msg_zerocopy", "send_zc"]


def conn(name, stream, cfg=0, strategy=0, probe=False, small_sndbuf=False, splits=(),
         tcp=False):
    """fuzz_conn: byte 0 = cfg | probe<<2 | small send buffer<<3 | strategy<<4 | tcp<<7."""
    flags = (cfg | (4 if probe else 0) | (8 if small_sndbuf else 0) | (strategy << 4) |
             (0x80 if tcp else 0))
    head = bytes([flags, len(splits) & 7]) + bytes((s - 1) & 0xff for s in splits)
    write("fuzz_conn", name, head + stream.encode("latin-1"))


def conns():
    big = (get("/big.bin") + get("/big.bin", "Range: bytes=0-9,60000-60009\r\n") +
           get("/mid.html", "Range: bytes=-100\r\n") + get("/nodir/b.txt", method="HEAD") +
           get("/nodir/b.txt"))
    for k, st in enumerate(STRATEGIES):
        conn(f"big-{st}-small-sndbuf", big, strategy=k, small_sndbuf=True)
        conn(f"big-{st}-probe", big, cfg=3, strategy=k, probe=True, splits=(40, 7))
        conn(f"big-{st}-tcp", big, cfg=3, strategy=k, probe=True, tcp=True)
    conn("close-after-big", get("/big.bin", "Connection: close\r\n") + get("/"), strategy=2,
         small_sndbuf=True)
    conn("error-after-big", get("/big.bin") + "GET / HTTP/1.1\r\nHost: x\rY\r\n\r\n", strategy=4,
         small_sndbuf=True)
    conn("pipeline-tcp-small-sndbuf", big * 3, strategy=0, probe=True, small_sndbuf=True,
         tcp=True, splits=(100, 3))
    conn("body-then-big", get("/", "Content-Length: 5\r\n") + "hello" + get("/big.bin"), cfg=2,
         strategy=3, splits=(3, 50))


# ---------------------------------------------------------------- config

FULL = """# every directive
listen 127.0.0.1:8080;
listen [::1]:8081 tls;
listen *:8082;
listen 8083;
workers 4;
root www;
index index.html index.htm;
autoindex on;
mime_types mime.types;
default_type text/plain;
charset utf-8;
symlinks inside;
hidden_files off;
access_log stderr;
error_log logs/error.log warn;
keepalive_timeout 75s;
header_timeout 10s;
send_timeout 1m;
shutdown_timeout 500ms;
max_connections 10000;
max_header_size 8k;
max_headers 100;
max_body_size 1m;
max_ranges 64;
send_strategy auto;
zerocopy_min_size 16k;
open_file_cache_valid 1s;
status_path /zcserve-status;
user www-data;
pid_file run/zcserve.pid;
"""


def configs():
    write("fuzz_config", "full.conf", FULL)
    write("fuzz_config", "full-crlf.conf", FULL.replace("\n", "\r\n"))
    write("fuzz_config", "minimal.conf", "root www;\n")
    write("fuzz_config", "no-root.conf", "autoindex on;\n")
    write("fuzz_config", "quoted.conf",
          "root \"www\"; index 'a b.html' \"c\\\"d.html\" \"e\\\\f\";\n"
          "default_type 'text/html'; # comment ; with semicolon\nuser \"nobody\";\n")
    write("fuzz_config", "includes.conf",
          "root www;\ninclude inc.conf;\ninclude conf.d/*.conf;\ninclude conf.d/*.nomatch;\n")
    write("fuzz_config", "include-loop.conf", "root www;\ninclude self.conf;\n")
    write("fuzz_config", "include-broken.conf", "root www;\ninclude broken.conf;\n")
    write("fuzz_config", "include-missing.conf", "root www;\ninclude missing.conf;\n")
    write("fuzz_config", "include-dir-glob.conf", "root www;\ninclude conf.d/*;\n")
    write("fuzz_config", "root-variants.conf", "root link-www;\n")
    write("fuzz_config", "root-notadir.conf", "root notadir;\n")
    write("fuzz_config", "root-missing.conf", "root nowhere;\n")
    write("fuzz_config", "root-slash.conf", "root /;\n")
    write("fuzz_config", "root-twice.conf", "root www;\nroot www2;\n")
    write("fuzz_config", "mime-bad.conf", "root www;\nmime_types bad.types;\n")
    write("fuzz_config", "mime-missing.conf", "root www;\nmime_types nope.types;\n")
    write("fuzz_config", "listens.conf", "root www;\n" + "".join(
        f"listen 127.0.0.{i}:80;\n" for i in range(1, 34)))
    write("fuzz_config", "listen-bad.conf",
          "root www;\nlisten [::1]:0;\nlisten 1.2.3.4:65536;\nlisten [::1;\nlisten :80;\n")
    write("fuzz_config", "listen-dup.conf", "root www;\nlisten 80;\nlisten *:80;\nlisten 0.0.0.0:80;\n")
    write("fuzz_config", "listen-tls-bad.conf", "root www;\nlisten 80 ssl;\n")
    write("fuzz_config", "index-many.conf", "root www;\nindex a b c d e f g h;\n")
    write("fuzz_config", "index-too-many.conf", "root www;\nindex a b c d e f g h i;\n")
    write("fuzz_config", "index-bad.conf", "root www;\nindex ../x a/b .;\n")
    write("fuzz_config", "sizes.conf",
          "root www;\nmax_header_size 1m;\nmax_body_size 99999999999999999999k;\n")
    write("fuzz_config", "sizes-edge.conf",
          "root www;\nmax_header_size 1023;\nmax_ranges 1025;\nmax_headers 0;\n")
    write("fuzz_config", "durations.conf",
          "root www;\nkeepalive_timeout 0;\nheader_timeout 31d;\nsend_timeout 1x;\n")
    write("fuzz_config", "durations-ok.conf",
          "root www;\nkeepalive_timeout 1h;\nheader_timeout 1;\nopen_file_cache_valid 0ms;\n")
    write("fuzz_config", "strategies.conf",
          "root www;\nsend_strategy send_zc;\nzerocopy_min_size auto;\n")
    write("fuzz_config", "strategy-bad.conf", "root www;\nsend_strategy turbo;\nzerocopy_min_size 0;\n")
    write("fuzz_config", "onoff-bad.conf", "root www;\nautoindex yes;\n")
    write("fuzz_config", "symlinks-off.conf", "root www;\nsymlinks off;\nhidden_files on;\n")
    write("fuzz_config", "charset-off.conf", "root www;\ncharset off;\naccess_log off;\npid_file off;\n")
    write("fuzz_config", "header-injection.conf",
          "root www;\ndefault_type \"text/html\\nX-Evil: 1\";\ncharset \"utf-8\\r\\n\";\n")
    write("fuzz_config", "status-paths.conf", "root www;\nstatus_path /a/../b;\n")
    write("fuzz_config", "status-path-off.conf", "root www;\nstatus_path off;\n")
    write("fuzz_config", "user-bad.conf", "root www;\nuser \"root:x\";\n")
    write("fuzz_config", "error-log-levels.conf", "root www;\nerror_log stderr debug;\n")
    write("fuzz_config", "error-log-bad.conf", "root www;\nerror_log stderr loud;\n")
    write("fuzz_config", "unknown.conf", "root www;\nserver_name x;\n")
    write("fuzz_config", "missing-semicolon.conf", "root www\nautoindex on;\n")
    write("fuzz_config", "unterminated.conf", "root \"www;\n")
    write("fuzz_config", "bad-escape.conf", "root \"w\\qw\";\n")
    write("fuzz_config", "stray-semicolon.conf", ";;root www;;\n")
    write("fuzz_config", "nul.conf", "root www;\x00\n")
    write("fuzz_config", "ctl.conf", "root www\x01;\n")
    write("fuzz_config", "quote-after.conf", "root \"www\"x;\n")
    write("fuzz_config", "workers.conf", "root www;\nworkers 1025;\n")
    write("fuzz_config", "arity.conf", "root;\nlisten 1 2 3;\n")
    write("fuzz_config", "long-word.conf", "root " + "w" * 5000 + ";\n")


# ---------------------------------------------------------------- range

def rng(name, header, size, width=3, max_ranges=64):
    cls = {1: 0, 2: 1, 4: 2, 8: 3}[width]
    m = 0xff if max_ranges == 1024 else max_ranges - 1
    write("fuzz_range", name, bytes([cls]) + struct.pack("<Q", size) + bytes([m]) +
          header.encode("latin-1"))


def ranges():
    rng("first-byte", "bytes=0-0", 100, 1)
    rng("suffix", "bytes=-5", 100, 1)
    rng("open", "bytes=5-", 100, 1)
    rng("two", "bytes=0-1,3-4", 100, 1)
    rng("adjacent", "bytes=0-1,2-3", 100, 1)
    rng("overlap", "bytes=0-10,5-20,-3", 100, 1)
    rng("unsorted", "bytes=50-60,0-1,20-30", 100, 1)
    rng("many-overlapping", "bytes=" + ",".join(["0-"] * 300), 1000, 2)
    rng("many-disjoint", "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 200, 2)), 1000, 2, 64)
    rng("many-disjoint-1024", "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 200, 2)), 1000, 2, 1024)
    rng("max-1", "bytes=0-1,5-6", 100, 1, 1)
    rng("unsatisfiable", "bytes=100-200", 100, 1)
    rng("unsat-and-sat", "bytes=100-200,1-2", 100, 1)
    rng("zero-size", "bytes=0-", 0, 1)
    rng("zero-suffix", "bytes=-0", 100, 1)
    rng("invalid-reverse", "bytes=5-1", 100, 1)
    rng("invalid-unit", "items=0-1", 100, 1)
    rng("invalid-space-eq", "bytes =0-1", 100, 1)
    rng("case", "BYTES=0-1", 100, 1)
    rng("ows", "bytes= 0-1 ,\t2-3 ", 100, 1)
    rng("empty-elems", "bytes=,,0-1,,", 100, 1)
    rng("only-commas", "bytes=,,,", 100, 1)
    rng("empty", "bytes=", 100, 1)
    rng("no-dash", "bytes=5", 100, 1)
    rng("double-dash", "bytes=1--2", 100, 1)
    rng("u64-max", "bytes=0-18446744073709551615", 2**64 - 1, 8)
    rng("u64-overflow", "bytes=0-18446744073709551616", 2**64 - 1, 8)
    rng("suffix-huge", "bytes=-18446744073709551615", 2**63, 8)
    rng("last-byte-huge", "bytes=18446744073709551614-", 2**64 - 1, 8)
    rng("huge-file", "bytes=4294967296-4294967299,-1", 2**33, 4 if 2**33 < 2**32 else 8)
    rng("leading-zeros", "bytes=000000000000000000000000001-0000002", 100, 1)
    rng("plus-sign", "bytes=+1-2", 100, 1)
    rng("nul", "bytes=0-1\x002-3", 100, 1)


def main():
    requests()
    conns()
    configs()
    ranges()
    for h in ("fuzz_request", "fuzz_conn", "fuzz_config", "fuzz_range"):
        print(h, len(os.listdir(os.path.join(OUT, h))), "seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
