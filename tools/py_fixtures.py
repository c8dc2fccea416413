# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Records tests/unit/fixtures/python/NAME.h: the memory the resolver of
user/attribute/py_code.c reads for a few code objects of the interpreter
that runs this script, with the lines CPython itself gives their
instructions (PyCode_Addr2Line), and the head of _PyRuntime.

    python3.X tools/py_fixtures.py NAME > tests/unit/fixtures/python/NAME.h

Memory is copied with ctypes.string_at from the live objects: each code
object's head, its name, qualname, file name and line table objects, their
types and the types' tp_name strings. Nothing here knows memobs's layout
table (that is what the tests check against these bytes), only
PyTypeObject.tp_name's place (after PyObject_VAR_HEAD, in every version).
"""
import ctypes
import sys

NAME = sys.argv[1]
TP_NAME = 24  # PyTypeObject: ob_refcnt, ob_type, ob_size, then tp_name
PTR = ctypes.sizeof(ctypes.c_void_p)

regions = {}


def grab(addr, size):
    regions[addr] = max(regions.get(addr, 0), size)


def grab_type(obj):
    t = id(type(obj))
    grab(t, 64)
    tp_name = ctypes.c_void_p.from_address(t + TP_NAME).value
    grab(tp_name, len(type(obj).__name__) + 1)


def grab_obj(obj):
    grab(id(obj), sys.getsizeof(obj))
    grab_type(obj)


def sample():
    total = 0
    for i in range(3):
        total += i
    if total > 2:
        total = -total

    return total


def ünïcode_fn():
    return [x * 2
            for x in range(3)]


def cyrillic_функция():
    return 1


def astral():
    return 2


# file names of the fixture's own choosing: no path of the recording machine
for fn in (sample, ünïcode_fn, cyrillic_функция):
    fn.__code__ = fn.__code__.replace(co_filename="/app/py_fixtures.py")
astral.__code__ = astral.__code__.replace(co_name="astral😀",
                                          co_filename="/app/😀/astral.py")
if sys.version_info >= (3, 11):
    astral.__code__ = astral.__code__.replace(co_qualname="Outer.astral😀")

PyCode_Addr2Line = ctypes.pythonapi.PyCode_Addr2Line
PyCode_Addr2Line.argtypes = [ctypes.py_object, ctypes.c_int]
PyCode_Addr2Line.restype = ctypes.c_int

codes = []
for fn in (sample, ünïcode_fn, cyrillic_функция, astral):
    co = fn.__code__
    # the object itself: its head and, for 3.11+, its instructions
    grab(id(co), sys.getsizeof(co))
    grab_type(co)
    grab_obj(co.co_name)
    grab_obj(co.co_filename)
    if sys.version_info >= (3, 11):
        grab_obj(co.co_qualname)
    table = co.co_lnotab if sys.version_info < (3, 10) else co.co_linetable
    grab_obj(table)
    lines = []
    for off in range(0, len(co.co_code), 2):
        line = PyCode_Addr2Line(co, off)
        lines.append((off, line if line > 0 else 0))
    name = co.co_qualname if sys.version_info >= (3, 11) else co.co_name
    codes.append((co, name, lines))

runtime = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
runtime_bytes = ctypes.string_at(runtime, 1024)


def c_bytes(b):
    return '"' + ''.join('\\x%02x' % c for c in b) + '"'


def c_str(s):
    return c_bytes(s.encode('utf-8'))


v = sys.version_info
print("/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */")
print("/* Recorded by tools/py_fixtures.py under CPython %s (%s): do not edit. */"
      % (sys.version.split()[0], sys.implementation.cache_tag))
print("static const struct py_fixture_region %s_regions[] = {" % NAME)
for addr in sorted(regions):
    data = ctypes.string_at(addr, regions[addr])
    print("\t{ 0x%x, %d, %s }," % (addr, len(data), c_bytes(data)))
print("};")
for i, (co, name, lines) in enumerate(codes):
    print("static const struct py_fixture_line %s_lines%d[] = {" % (NAME, i))
    for off, line in lines:
        print("\t{ %d, %d }," % (off, line))
    print("};")
print("static const struct py_fixture_code %s_codes[] = {" % NAME)
for i, (co, name, lines) in enumerate(codes):
    print("\t{ 0x%x, %s, %s, %d, %s_lines%d, %d }," % (
        id(co), c_str(name), c_str(co.co_filename), co.co_firstlineno, NAME, i, len(lines)))
print("};")
print("static const struct py_fixture %s = {" % NAME)
print("\t.major = %d, .minor = %d, .hexversion = 0x%08x," % (v.major, v.minor, sys.hexversion))
print("\t.regions = %s_regions, .nregions = %d," % (NAME, len(regions)))
print("\t.codes = %s_codes, .ncodes = %d," % (NAME, len(codes)))
print("\t.runtime = %s," % c_bytes(runtime_bytes))
print("};")
