#!/usr/bin/python3
"""make indent / make check-indent: PostgreSQL's layout for the C sources.

PostgreSQL formats its code with pgindent, a wrapper around pg_bsd_indent
(Debian package pg-bsd-indent) that ships only in PostgreSQL's source tree.
This script is this project's own wrapper with the same conventions:

  * pg_bsd_indent with PostgreSQL's options (4-column tabs, 79 columns,
    declarations at column 12, ...), listed in INDENT_OPTS below;
  * a typedefs list, without which indent takes "Foo *x" for a
    multiplication: every type name typedef'd by the server headers
    (pg_config --includedir-server), by our own sources, and the C library
    and libsodium/OpenSSL types the sources use;
  * pgindent's few fix-ups around indent: dash-protected block comments
    ("/*---" and "/* ---") stay as written, and a function's return type
    ending in "*" keeps one space before the star.

What indent cannot lay out is kept out of the sources: C99 compound
literals (pg_bsd_indent stops with "Unbalanced parens"; SPI arguments go in
named arrays), variables named like a type (text), and list macros
(foreach, forboth) whose body is an if without braces.

Usage: indent.py [--check] [FILE ...]   (default: src/, contrib/ C files)
--check changes nothing, prints the files it would change with a diff, and
exits 1 if there is any.
"""
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile

INDENT = os.environ.get("PG_BSD_INDENT", "pg_bsd_indent")
INDENT_OPTS = ("-bad -bap -bbb -bc -bl -cli1 -cp33 -cdb -nce -d0 -di12 -nfc1 -i4 "
               "-l79 -lp -lpl -nip -npro -sac -tpg -ts4").split()

# Names never to treat as types: pgindent's own exclusions (FD_SET, date,
# interval, timestamp, ANY) and words some header may typedef that are
# better left to mean variables.  A type our code uses (text, int8, ...)
# stays in the list: a variable must then not share its name, or indent
# reads "text + n" as a cast ("text +n"); such variables were renamed.
NOT_TYPES = set("ANY FD_SET U abs allocfunc boolean date digit ilist interval "
                "iterator other pointer printfunc reference string timestamp type "
                "wrap".split())
EXTRA_TYPES = set("""bool size_t ssize_t FILE pid_t off_t time_t mode_t
    uint8_t uint16_t uint32_t uint64_t int8_t int16_t int32_t int64_t uintptr_t
    va_list sigjmp_buf jmp_buf sig_atomic_t socklen_t DIR
    crypto_generichash_state crypto_sign_state crypto_hash_sha512_state
    EVP_MD EVP_MD_CTX""".split())

SIMPLE = re.compile(r"\btypedef\b[^;{}()]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)?;")
FUNCPTR = re.compile(r"\btypedef\b[^;{}]*?\(\s*\*\s*([A-Za-z_]\w*)\s*\)\s*\(")
# "typedef void name(args);" -- not the return type of "typedef void (*name)(args);"
FUNCTYPE = re.compile(r"\btypedef\b[^;{}()*]*?\b([A-Za-z_]\w*)\s*\((?!\s*\*)[^;{}]*\)\s*;")
BLOCK_END = re.compile(r"\}\s*([A-Za-z_]\w*)\s*(?:,\s*\*\s*(\w+)\s*)?;")


def typedefs_of(text):
    names = set()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    for rx in (SIMPLE, FUNCPTR, FUNCTYPE):
        names.update(rx.findall(text))
    # typedef struct X { ... } Name;  : find the closing brace of each
    for m in re.finditer(r"\btypedef\s+(?:struct|union|enum)\b[^;{]*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        end = BLOCK_END.match(text, i - 1)
        if end:
            names.update(n for n in end.groups() if n)
    return names


def sources(root):
    out = []
    for top in ("src", "contrib"):
        for d, _, files in os.walk(os.path.join(root, top)):
            out += [os.path.join(d, f) for f in files if f.endswith((".c", ".h"))]
    return sorted(out)


def typedefs(root, files):
    names = set(EXTRA_TYPES)
    inc = subprocess.run([os.environ.get("PG_CONFIG", "pg_config"), "--includedir-server"],
                         capture_output=True, text=True, check=True).stdout.strip()
    for d, _, fs in os.walk(inc):
        for f in fs:
            if f.endswith(".h"):
                with open(os.path.join(d, f), errors="replace") as fh:
                    names |= typedefs_of(fh.read())
    # libpq's, for contrib/governance-run (PGconn, PGresult, ...)
    client = subprocess.run([os.environ.get("PG_CONFIG", "pg_config"), "--includedir"],
                            capture_output=True, text=True, check=True).stdout.strip()
    for f in ("libpq-fe.h", "postgres_ext.h"):
        if os.path.exists(os.path.join(client, f)):
            with open(os.path.join(client, f), errors="replace") as fh:
                names |= typedefs_of(fh.read())
    for f in files:
        with open(f, errors="replace") as fh:
            names |= typedefs_of(fh.read())
    return sorted(names - NOT_TYPES)


def pre(src):
    return re.sub(r"/\* +---", "/*---X_X", src)


def post(src):
    src = src.replace("/*---X_X", "/* ---")
    src = re.sub(r"\*/(/\*.*\*/)$", r"*/\t\1", src, flags=re.M)
    return re.sub(r"^([A-Za-z_]\S*)[ \t]+\*$", r"\1 *", src, flags=re.M)


def indent(src, tdfile, tmpdir):
    # Input and output files: given an output file, pg_bsd_indent keeps no
    # backup (with one file it rewrites it and leaves NAME.BAK in the
    # current directory).
    src_path = os.path.join(tmpdir, "in.c")
    out_path = os.path.join(tmpdir, "out.c")
    with open(src_path, "w", encoding="utf-8") as fh:
        fh.write(pre(src))
    r = subprocess.run([INDENT] + INDENT_OPTS + ["-U" + tdfile, src_path, out_path],
                       capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        raise RuntimeError(r.stderr.strip() or "exit status %d" % r.returncode)
    with open(out_path, encoding="utf-8") as fh:
        return post(fh.read())


def main():
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = args or sources(root)
    if shutil.which(INDENT) is None:
        sys.exit("indent: %s not found (Debian: apt-get install pg-bsd-indent)" % INDENT)
    changed, failed = [], []
    with tempfile.TemporaryDirectory(prefix="gov-indent-") as tmpdir:
        tdfile = os.path.join(tmpdir, "typedefs")
        try:
            names = typedefs(root, sources(root))
        except (OSError, subprocess.CalledProcessError) as e:
            sys.exit("indent: cannot read the server headers' typedefs via pg_config "
                     "(set PG_CONFIG; Debian: postgresql-server-dev-15): %s" % e)
        with open(tdfile, "w") as fh:
            fh.write("\n".join(names) + "\n")
        for f in files:
            with open(f, encoding="utf-8") as fh:
                old = fh.read()
            try:
                new = indent(old, tdfile, tmpdir)
            except RuntimeError as e:
                failed.append("%s: %s" % (f, e))
                continue
            if new == old:
                continue
            changed.append(f)
            if check:
                rel = os.path.relpath(f, root)
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(True), new.splitlines(True), rel, rel + " (indented)"))
            else:
                with open(f, "w", encoding="utf-8") as fh:
                    fh.write(new)
    for f in failed:
        print("indent failed: " + f, file=sys.stderr)
    verb = "would change" if check else "changed"
    print("indent: %d files %s%s" % (len(changed), verb,
                                     (": " + " ".join(os.path.relpath(c, root) for c in changed))
                                     if changed else ""), file=sys.stderr)
    sys.exit(1 if failed or (check and changed) else 0)


if __name__ == "__main__":
    main()
