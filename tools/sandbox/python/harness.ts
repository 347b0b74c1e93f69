/**
 * The Python that runs once in every Pyodide interpreter, before its baseline memory image is taken
 * (see worker.ts): it pre-imports the common standard library, closes every road from Python to
 * JavaScript and the host, and defines the three entry points the worker calls (`_tg_reset`,
 * `_tg_run`, `_tg_eval_all`). Everything the harness needs is bound at definition time, so user code
 * that patches builtins, `json` or `repr` cannot change what the harness reports.
 *
 * Closed roads (each is also closed below Python where it can be, see worker.ts):
 * - `js`, `pyodide_js`, `pyodide` (with `pyodide.ffi`, `pyodide.code.run_js`, `pyodide.http.pyfetch`),
 *   `_pyodide`, `_pyodide_core`, `micropip`: purged from `sys.modules`, their namespaces emptied (so
 *   `object.__subclasses__()` and `__globals__` lead nowhere), their finders removed, and an import
 *   blocker placed first on `sys.meta_path`;
 * - `ctypes` / `_ctypes` (raw memory and calls into the runtime's JavaScript imports): blocked;
 * - `gc.get_objects` / `get_referrers` / `get_referents` (a walk to objects the harness holds): removed;
 * - `input()` reads end-of-file; `time.sleep` advances the virtual clock instead of waiting.
 * Python is not a security boundary by itself: the worker thread, its wasm import wrappers and the
 * file-system guard are what a determined escape would meet next.
 */
/** The standard library every interpreter has imported before its memory snapshot (see pool.ts). */
export const PRELOAD_SOURCE = `
import sys, builtins, ast, linecache, traceback, random, time, io, json, gc
import math, re, collections, itertools, functools, fractions, decimal, datetime, statistics
import heapq, bisect, string, operator, textwrap, typing, dataclasses, copy, calendar, enum, unicodedata
`;

export const HARNESS_SOURCE = String.raw`
import sys, builtins, ast, linecache, traceback, random, time, io, json, gc
import math, re, collections, itertools, functools, fractions, decimal, datetime, statistics
import heapq, bisect, string, operator, textwrap, typing, dataclasses, copy, calendar, enum, unicodedata
import __main__

_BLOCKED_ROOTS = frozenset({'js', 'pyodide_js', 'pyodide', '_pyodide', '_pyodide_core', 'micropip', 'ctypes', '_ctypes', 'pyodide_http'})

class _ImportBlocker:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition('.')[0] in _BLOCKED_ROOTS:
            raise ModuleNotFoundError(
                f"No module named {name!r}: the sandbox has no JavaScript bridge, ctypes, network or host access", name=name)
        return None

def _lockdown():
    for name in list(sys.modules):
        if name.partition('.')[0] in _BLOCKED_ROOTS:
            mod = sys.modules.pop(name)
            d = getattr(mod, '__dict__', None)
            if type(d) is dict:
                keep = {k: d[k] for k in ('__name__', '__spec__', '__loader__') if k in d}
                d.clear()
                d.update(keep)
    keep = []
    for f in sys.meta_path:
        mod = getattr(type(f), '__module__', '') if not isinstance(f, type) else getattr(f, '__module__', '')
        if mod.partition('.')[0] in _BLOCKED_ROOTS or type(f).__name__ in ('JsFinder', 'UnvendoredStdlibFinder', 'RepodataPackagesFinder'):
            jp = getattr(f, 'jsproxies', None)
            if type(jp) is dict:
                jp.clear()
            continue
        keep.append(f)
    sys.meta_path[:] = [_ImportBlocker] + keep
    sys.path_hooks[:] = [h for h in sys.path_hooks if getattr(h, '__module__', '').partition('.')[0] not in _BLOCKED_ROOTS]
    sys.path_importer_cache.clear()
    def _refused(*a, **k):
        raise RuntimeError('gc object walks are disabled in the sandbox')
    gc.get_objects = gc.get_referrers = gc.get_referents = _refused
    for hook in ('breakpointhook', 'excepthook', 'unraisablehook', 'displayhook'):
        default = getattr(sys, '__' + hook + '__', None)
        if default is not None:
            setattr(sys, hook, default)
    sys.dont_write_bytecode = True

_lockdown()
del _lockdown

# ----------------------------------------------------------------- output capture

class _Capture(io.TextIOBase):
    """stdout and stderr together, in call order, capped: past the cap, characters are counted."""
    def __init__(self):
        self.parts = []
        self.n = 0
        self.dropped = 0
        self.limit = 8000
    def write(self, s):
        if type(s) is not str:
            if not isinstance(s, str):
                raise TypeError(f'write() argument must be str, not {type(s).__name__}')
            s = str.__str__(s)
        room = self.limit - self.n
        if room >= len(s):
            self.parts.append(s)
            self.n += len(s)
        elif room > 0:
            self.parts.append(s[:room])
            self.n = self.limit
            self.dropped += len(s) - room
        else:
            self.dropped += len(s)
        return len(s)
    def writable(self):
        return True
    def isatty(self):
        return False
    def flush(self):
        pass
    @property
    def encoding(self):
        return 'utf-8'
    def take(self):
        text = ''.join(self.parts)
        d = self.dropped
        self.parts = []
        self.n = 0
        self.dropped = 0
        return text, d

_cap = _Capture()

class _NoInput(io.TextIOBase):
    def readable(self):
        return True
    def readline(self, size=-1):
        return ''
    def read(self, size=-1):
        return ''

def _bind_streams():
    sys.stdout = sys.stderr = sys.__stdout__ = sys.__stderr__ = _cap
    sys.stdin = sys.__stdin__ = _NoInput()

_bind_streams()

# ----------------------------------------------------------------- virtual time

_monotonic = time.monotonic

def _sleep(secs, /):
    """Advances the virtual clock by secs (each clock reading moves it by 1 ms); never waits."""
    if not isinstance(secs, (int, float)):
        raise TypeError(f"'{type(secs).__name__}' object cannot be interpreted as an integer or float")
    if secs != secs or secs < 0:
        raise ValueError('sleep length must be non-negative')
    end = _monotonic() + secs
    while _monotonic() < end:
        pass

time.sleep = _sleep

# ----------------------------------------------------------------- the REPL

_state = {'cell': 0}
_ns = __main__.__dict__
_BASE_NAMES = frozenset(_ns)
_parse = ast.parse
_Expr = ast.Expr
_Expression = ast.Expression
_compile = compile
_exec = exec
_eval = eval
_repr = repr
_str = str
_len = len
_type = type
_isinstance = isinstance
_dumps = json.dumps
_lc = linecache.cache
_fmt_exc = traceback.format_exception
_fmt_only = traceback.format_exception_only
_KeyboardInterrupt = KeyboardInterrupt
_MemoryError = MemoryError
_RecursionError = RecursionError
_SystemExit = SystemExit
_BaseException = BaseException
_SyntaxError = SyntaxError
_setbuiltin = builtins.__dict__.__setitem__
_seed = random.seed
_ERR_CAP = 6000

def _clip(text, limit):
    if _len(text) <= limit:
        return text
    half = limit // 2
    return text[:half] + f'\n... [{_len(text) - limit} characters of the traceback cut] ...\n' + text[-half:]

def _format_error(e):
    if _isinstance(e, _SyntaxError):
        return _clip(''.join(_fmt_only(_type(e), e)).rstrip('\n'), _ERR_CAP)
    tb = e.__traceback__
    # Drop the harness's own frames: the agent's frames start at its first cell.
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith('<cell'):
        tb = tb.tb_next
    return _clip(''.join(_fmt_exc(_type(e), e, tb)).rstrip('\n'), _ERR_CAP)

def _tg_reset(seed, limit):
    _cap.limit = limit
    _cap.take()
    _seed(seed)
    _bind_streams()

def _tg_run(code):
    """Runs one cell as the Python REPL would; returns a JSON object (see sandbox.ts PyReply)."""
    _state['cell'] += 1
    name = f"<cell{_state['cell']}>"
    status = 'ok'
    value = None
    err = None
    try:
        try:
            tree = _parse(code, name, 'exec')
            last = None
            if tree.body and _type(tree.body[-1]) is _Expr:
                last = _Expression(tree.body.pop().value)
            _lc[name] = (_len(code), None, code.splitlines(True), name)
            if tree.body:
                _exec(_compile(tree, name, 'exec'), _ns)
            if last is not None:
                v = _eval(_compile(last, name, 'eval'), _ns)
                if v is not None:
                    _setbuiltin('_', v)
                    value = _repr(v)
                    if _type(value) is not _str:
                        value = _str.__str__(value)
        except _KeyboardInterrupt:
            status = 'timeout'
        except _MemoryError:
            status = 'oom'
        except _SystemExit as e:
            status = 'error'
            err = f'SystemExit: {e.code!r} (exit() and sys.exit() do not end the sandbox; its state is kept)'
        except _BaseException as e:
            status = 'error'
            err = _format_error(e)
    except _KeyboardInterrupt:
        status = 'timeout'
    except _MemoryError:
        status = 'oom'
    out, dropped = _cap.take()
    if value is not None and _len(value) > _cap.limit:
        dropped += _len(value) - _cap.limit
        value = value[:_cap.limit]
    return _dumps({'status': status, 'output': out, 'dropped': dropped, 'value': value, 'error': err})

# ----------------------------------------------------------------- canonical values for hidden tests

_float_repr = float.__repr__
_int_repr = int.__repr__
_enc_str = json.encoder.encode_basestring
_dict_items = dict.items
_list_len = list.__len__
_tuple_len = tuple.__len__
_list_get = list.__getitem__
_tuple_get = tuple.__getitem__
_sorted = sorted
_callable = callable
_abs = abs
_int = int
_float = float
_bool = bool
_list = list
_tuple = tuple
_dict = dict
_set = set
_frozenset = frozenset

def _js_number(x):
    """Number::toString of the double x, as JavaScript prints it (the host's encodeValue form)."""
    if x != x:
        return None
    if x == 0:
        return '0'
    if x in (float('inf'), float('-inf')):
        return 'Infinity' if x > 0 else '-Infinity'
    r = _float_repr(x)
    sign = ''
    if r[0] == '-':
        sign = '-'
        r = r[1:]
    mant, _, exp = r.partition('e')
    e = _int(exp) if exp else 0
    ip, _, fp = mant.partition('.')
    if fp == '0':
        fp = ''
    digits = (ip + fp).lstrip('0')
    e -= _len(fp)
    stripped = digits.rstrip('0')
    e += _len(digits) - _len(stripped)
    digits = stripped
    k = _len(digits)
    n = k + e
    if k <= n <= 21:
        s = digits + '0' * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + '.' + digits[n:]
    elif -6 < n <= 0:
        s = '0.' + '0' * (-n) + digits
    else:
        p = n - 1
        es = ('+' if p >= 0 else '-') + _str(_abs(p))
        s = (digits if k == 1 else digits[0] + '.' + digits[1:]) + 'e' + es
    return sign + s

def _key(k):
    if _isinstance(k, _str):
        return _str.__str__(k)
    if k is True:
        return 'true'
    if k is False:
        return 'false'
    if k is None:
        return 'null'
    if _isinstance(k, _int):
        return _int_repr(k)
    if _isinstance(k, _float):
        j = _js_number(_float(k))
        return 'NaN' if j is None else j
    raise TypeError('a dict key that JSON cannot hold')

def _encode(v, depth, budget):
    """The host's encodeValue form of a Python value (JSON-like data; anything else never matches)."""
    if budget[0] <= 0 or depth > 64:
        budget[0] = 0
        return 'X'
    budget[0] -= 1
    if v is None:
        return 'n'
    if v is True:
        return 'b1'
    if v is False:
        return 'b0'
    if _isinstance(v, _int):
        i = _int(v)
        if -9007199254740992 <= i <= 9007199254740992:
            return 'd' + _int_repr(i)
        try:
            return 'd' + _js_number(_float(i))
        except OverflowError:
            return 'dInfinity' if i > 0 else 'd-Infinity'
    if _isinstance(v, _float):
        j = _js_number(_float(v))
        return 'N' if j is None else 'd' + j
    if _isinstance(v, _str):
        return 's' + _enc_str(_str.__str__(v))
    if _isinstance(v, _list):
        return '[' + ','.join([_encode(_list_get(v, i), depth + 1, budget) for i in range(_list_len(v))]) + ']'
    if _isinstance(v, _tuple):
        return '[' + ','.join([_encode(_tuple_get(v, i), depth + 1, budget) for i in range(_tuple_len(v))]) + ']'
    if _isinstance(v, _dict):
        items = {}
        for k, x in _list(_dict_items(v)):
            items[_key(k)] = x
        keys = _sorted(items)
        return '{' + ','.join([_enc_str(k) + ':' + _encode(items[k], depth + 1, budget) for k in keys]) + '}'
    if _callable(v):
        return 'f'
    return 'o' + _type(v).__name__

def _tg_eval_all(exprs_json):
    """One line per expression: '1' + encoding, or '0' + the JSON string of the error; then 'end'."""
    exprs = json.loads(exprs_json)
    lines = []
    try:
        for i, expr in enumerate(exprs):
            try:
                v = _eval(_compile(expr, f'<test{i + 1}>', 'eval'), _ns)
                lines.append('1' + _encode(v, 0, [100000]))
            except (_KeyboardInterrupt, _MemoryError):
                raise
            except _BaseException as e:
                try:
                    msg = _type(e).__name__ + ': ' + _str(e)
                except _BaseException:
                    msg = _type(e).__name__
                lines.append('0' + _dumps(msg))
    except _KeyboardInterrupt:
        _cap.take()
        return 'timeout'
    except _MemoryError:
        _cap.take()
        return 'oom'
    _cap.take()
    return '\n'.join(lines + ['end'])
`;
