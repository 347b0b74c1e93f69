/**
 * The JavaScript that runs once inside every fresh isolate, before any user code.
 *
 * It installs a Node-like `console` that writes into an in-isolate buffer (one host round trip per
 * call instead of one per `console.log`), a seeded `Math.random`, and a `Date` whose clock is virtual
 * (seeded, advancing one millisecond per reading) and whose "local" time zone is UTC, so results never
 * depend on the host's clock or time zone. The script evaluates to a control object the host keeps a
 * reference to; user code never sees it (it is not reachable from `globalThis`).
 *
 * Kept as plain JavaScript source (not a serialised TypeScript function) because a transpiler may
 * inject helpers into a function's `toString()` that do not exist inside the isolate.
 */
export const BOOTSTRAP_SOURCE = String.raw`
(function () {
  'use strict';
  var G = globalThis;
  var OD = Date;
  var ODproto = OD.prototype;
  var odGetTime = ODproto.getTime;
  var odTzo = ODproto.getTimezoneOffset;
  var odToISO = ODproto.toISOString;
  var odToLocale = ODproto.toLocaleString;
  var odToLocaleDate = ODproto.toLocaleDateString;
  var odToLocaleTime = ODproto.toLocaleTimeString;
  var odParse = OD.parse;
  var odUTC = OD.UTC;
  var objKeys = Object.keys;
  var getOwnDesc = Object.getOwnPropertyDescriptor;
  var getOwnSymbols = Object.getOwnPropertySymbols;
  var getProto = Object.getPrototypeOf;
  var isArray = Array.isArray;
  var jsonStringify = JSON.stringify;
  var fnToString = Function.prototype.toString;
  var objToString = Object.prototype.toString;
  var StringC = String;
  var mapEntries = Map.prototype.entries;
  var setValues = Set.prototype.values;
  var mapSize = getOwnDesc(Map.prototype, 'size').get;
  var setSize = getOwnDesc(Set.prototype, 'size').get;
  // An error's own 'stack' is a data property up to V8 12 (Node 20) and, from V8 13 (Node 24), an
  // accessor pair that every error shares. Only that built-in getter is ever called: a getter the
  // user's code defined could run forever or print.
  var stackDesc = getOwnDesc(new Error(''), 'stack');
  var stackGet = stackDesc && typeof stackDesc.get === 'function' ? stackDesc.get : undefined;
  var reToString = RegExp.prototype.toString;
  var isView = ArrayBuffer.isView;
  var arrSort = Array.prototype.sort;
  var numIsNaN = Number.isNaN;

  // ---------------------------------------------------------------- seeded randomness and clock
  var rngState = 0;
  function random() {
    rngState = (rngState + 0x6d2b79f5) >>> 0;
    var t = rngState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  var clock = 0;
  function tick() { clock += 1; return clock; }

  function parseAsUtc(s) {
    var t = odParse(s);
    if (t !== t) return t;
    // Date-only ISO forms and strings naming a zone are already absolute; anything else was read
    // as host-local time: move it so that "local" means UTC inside the sandbox.
    if (/^\s*[+-]?\d{4,6}(-\d\d(-\d\d)?)?\s*$/.test(s)) return t;
    if (/(Z|[+-]\d\d:?\d\d|\b(GMT|UTC|UT)\b.*)\s*(\(.*\))?\s*$/i.test(s)) return t;
    return t - odTzo.call(new OD(t)) * 60000;
  }
  function toPrim(v) { return typeof v === 'object' && v !== null ? v.valueOf() : v; }
  function SandboxDate() {
    var n = arguments.length;
    if (new.target === undefined) return dateString(new OD(tick()));
    var t;
    if (n === 0) t = tick();
    else if (n === 1) {
      var a = arguments[0];
      if (a instanceof OD) t = odGetTime.call(a);
      else { a = toPrim(a); t = typeof a === 'string' ? parseAsUtc(a) : Number(a); }
    } else t = odUTC.apply(null, arguments);
    return Reflect.construct(OD, [t], new.target);
  }
  SandboxDate.prototype = ODproto;
  Object.defineProperty(ODproto, 'constructor', { value: SandboxDate, writable: true, configurable: true });
  SandboxDate.now = function now() { return tick(); };
  SandboxDate.parse = function parse(s) { return parseAsUtc(StringC(s)); };
  SandboxDate.UTC = odUTC;
  var DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  function p2(n) { return (n < 10 ? '0' : '') + n; }
  function datePart(d) {
    var y = d.getUTCFullYear();
    var ys = y < 0 ? '-' + ('00000' + -y).slice(-6) : ('000' + y).slice(-4);
    return DAYS[d.getUTCDay()] + ' ' + MONTHS[d.getUTCMonth()] + ' ' + p2(d.getUTCDate()) + ' ' + ys;
  }
  function timePart(d) {
    return p2(d.getUTCHours()) + ':' + p2(d.getUTCMinutes()) + ':' + p2(d.getUTCSeconds()) + ' GMT+0000 (Coordinated Universal Time)';
  }
  function dateString(d) {
    if (odGetTime.call(d) !== odGetTime.call(d)) return 'Invalid Date';
    return datePart(d) + ' ' + timePart(d);
  }
  ['FullYear', 'Month', 'Date', 'Day', 'Hours', 'Minutes', 'Seconds', 'Milliseconds'].forEach(function (k) {
    ODproto['get' + k] = ODproto['getUTC' + k];
    if (k !== 'Day') ODproto['set' + k] = ODproto['setUTC' + k];
  });
  ODproto.getTimezoneOffset = function getTimezoneOffset() { return 0; };
  ODproto.toString = function toString() { return dateString(this); };
  ODproto.toDateString = function toDateString() { return odGetTime.call(this) !== odGetTime.call(this) ? 'Invalid Date' : datePart(this); };
  ODproto.toTimeString = function toTimeString() { return odGetTime.call(this) !== odGetTime.call(this) ? 'Invalid Date' : timePart(this); };
  function utcOpts(o) {
    var r = {};
    if (o) for (var k in o) r[k] = o[k];
    if (r.timeZone === undefined) r.timeZone = 'UTC';
    return r;
  }
  ODproto.toLocaleString = function toLocaleString(l, o) { return odToLocale.call(this, l, utcOpts(o)); };
  ODproto.toLocaleDateString = function toLocaleDateString(l, o) { return odToLocaleDate.call(this, l, utcOpts(o)); };
  ODproto.toLocaleTimeString = function toLocaleTimeString(l, o) { return odToLocaleTime.call(this, l, utcOpts(o)); };
  Object.defineProperty(G, 'Date', { value: SandboxDate, writable: true, configurable: true });
  Object.defineProperty(Math, 'random', { value: random, writable: true, configurable: true });

  // ---------------------------------------------------------------- inspect (a subset of Node's util.inspect)
  var IDENT = /^[a-zA-Z_$][a-zA-Z_0-9$]*$/;
  var BREAK = 80;

  function quote(s) {
    var q = "'";
    if (s.indexOf("'") >= 0) { if (s.indexOf('"') < 0) q = '"'; else if (s.indexOf('\u0060') < 0 && s.indexOf('\u0024{') < 0) q = '\u0060'; }
    var out = '';
    for (var i = 0; i < s.length; i++) {
      var c = s[i];
      var code = s.charCodeAt(i);
      if (c === q || c === '\\') out += '\\' + c;
      else if (c === '\n') out += '\\n';
      else if (c === '\t') out += '\\t';
      else if (c === '\r') out += '\\r';
      else if (c === '\b') out += '\\b';
      else if (c === '\f') out += '\\f';
      else if (c === '\v') out += '\\v';
      else if (code < 0x20 || code === 0x7f) out += '\\x' + (code < 16 ? '0' : '') + code.toString(16).toUpperCase();
      else out += c;
    }
    return q + out + q;
  }
  function formatNumber(n) { return n === 0 && 1 / n < 0 ? '-0' : StringC(n); }
  function fnBase(f) {
    var src = '';
    try { src = fnToString.call(f); } catch (e) { src = ''; }
    var name = typeof f.name === 'string' ? f.name : '';
    if (src.slice(0, 5) === 'class' && /^class[\s{]/.test(src)) return '[class ' + (name || '(anonymous)') + ']';
    var kind = objToString.call(f).slice(8, -1);
    var label = kind === 'AsyncFunction' ? 'AsyncFunction' : kind === 'GeneratorFunction' ? 'GeneratorFunction' : kind === 'AsyncGeneratorFunction' ? 'AsyncGeneratorFunction' : 'Function';
    return '[' + label + (name ? ': ' + name : ' (anonymous)') + ']';
  }
  function ctorName(o) {
    var p = getProto(o);
    if (p === null) return null;
    var d = getOwnDesc(p, 'constructor');
    return d && typeof d.value === 'function' && typeof d.value.name === 'string' ? d.value.name : '';
  }
  function errorText(e) {
    var stack = getOwnDesc(e, 'stack');
    var s = stack && typeof stack.value === 'string' ? stack.value : '';
    if (!s && stack && stackGet !== undefined && stack.get === stackGet) {
      var got;
      try { got = stackGet.call(e); } catch (err) { got = undefined; }
      if (typeof got === 'string') s = got;
    }
    if (!s) {
      var name = e.name, msg = e.message;
      s = (typeof name === 'string' ? name : 'Error') + (msg ? ': ' + msg : '');
      return '[' + s + ']';
    }
    return s;
  }
  function keyText(k) {
    if (typeof k === 'symbol') return '[' + StringC(k) + ']';
    return IDENT.test(k) ? k : quote(k);
  }
  function groupArray(ctx, output, value) {
    var totalLength = 0, maxLength = 0, i;
    var outputLength = output.length;
    if (ctx.extra) outputLength--;
    var sep = 2;
    var dataLen = new Array(outputLength);
    for (i = 0; i < outputLength; i++) {
      var len = output[i].length;
      dataLen[i] = len;
      totalLength += len + sep;
      if (maxLength < len) maxLength = len;
    }
    var actualMax = maxLength + sep;
    if (actualMax * 3 + ctx.indent < BREAK && (totalLength / actualMax > 5 || maxLength <= 6)) {
      var averageBias = Math.sqrt(actualMax - totalLength / output.length);
      var biasedMax = Math.max(actualMax - 3 - averageBias, 1);
      var columns = Math.min(Math.round(Math.sqrt(2.5 * biasedMax * outputLength) / biasedMax), Math.floor((BREAK - ctx.indent) / actualMax), 12, 15);
      if (columns <= 1) return output;
      var tmp = [], maxLineLength = [];
      for (i = 0; i < columns; i++) {
        var lineLength = 0;
        for (var j = i; j < outputLength; j += columns) if (dataLen[j] > lineLength) lineLength = dataLen[j];
        maxLineLength.push(lineLength + sep);
      }
      var padStart = true;
      for (i = 0; i < outputLength; i++) {
        var t = typeof value[i];
        if (t !== 'number' && t !== 'bigint') { padStart = false; break; }
      }
      for (i = 0; i < outputLength; i += columns) {
        var max = Math.min(i + columns, outputLength);
        var str = '';
        var k = i;
        for (; k < max - 1; k++) {
          var cell = output[k] + ', ';
          str += padStart ? cell.padStart(maxLineLength[k - i], ' ') : cell.padEnd(maxLineLength[k - i], ' ');
        }
        str += padStart ? output[k].padStart(maxLineLength[k - i] - sep, ' ') : output[k];
        tmp.push(str);
      }
      if (ctx.extra) tmp.push(output[outputLength]);
      return tmp;
    }
    return output;
  }
  function reduce(ctx, output, base, open, close, height, isArrayLike, value) {
    var entries = output.length;
    if (isArrayLike && entries > 6) output = groupArray(ctx, output, value);
    if (height < 3 && entries === output.length) {
      var start = output.length + ctx.indent + open.length + base.length + 10;
      var total = output.length + start;
      var fits = total + output.length <= BREAK;
      for (var i = 0; fits && i < output.length; i++) { total += output[i].length; if (total > BREAK) fits = false; }
      if (fits) {
        var joined = output.join(', ');
        if (joined.indexOf('\n') < 0) return (base ? base + ' ' : '') + open + ' ' + joined + ' ' + close;
      }
    }
    var ind = '\n' + ' '.repeat(ctx.indent);
    return (base ? base + ' ' : '') + open + ind + '  ' + output.join(',' + ind + '  ') + ind + close;
  }
  function propEntry(ctx, obj, key, depth) {
    var d = getOwnDesc(obj, key);
    var v;
    if (d === undefined) v = 'undefined';
    else if ('value' in d) { ctx.indent += 2; v = fmt(ctx, d.value, depth + 1); ctx.indent -= 2; }
    else v = d.get ? (d.set ? '[Getter/Setter]' : '[Getter]') : (d.set ? '[Setter]' : 'undefined');
    return keyText(key) + ': ' + v;
  }
  function ownEnumKeys(o, skipIndices) {
    var ks = objKeys(o);
    if (skipIndices) ks = ks.filter(function (k) { return !/^(0|[1-9]\d*)$/.test(k); });
    var syms = getOwnSymbols(o);
    for (var i = 0; i < syms.length; i++) { var d = getOwnDesc(o, syms[i]); if (d && d.enumerable) ks.push(syms[i]); }
    return ks;
  }
  function fmt(ctx, v, depth) {
    switch (typeof v) {
      case 'string': return quote(v.length > 10000 ? v.slice(0, 10000) : v) + (v.length > 10000 ? '... ' + (v.length - 10000) + ' more characters' : '');
      case 'number': return formatNumber(v);
      case 'bigint': return StringC(v) + 'n';
      case 'boolean': return v ? 'true' : 'false';
      case 'undefined': return 'undefined';
      case 'symbol': return StringC(v);
    }
    if (v === null) return 'null';
    var idx = ctx.seen.indexOf(v);
    if (idx >= 0) {
      var id = ctx.circular.get(v);
      if (id === undefined) { id = ctx.circular.size + 1; ctx.circular.set(v, id); }
      return '[Circular *' + id + ']';
    }
    var out = fmtObject(ctx, v, depth);
    var cid = ctx.circular.get(v);
    return cid !== undefined ? '<ref *' + cid + '> ' + out : out;
  }
  function fmtObject(ctx, v, depth) {
    var name = ctorName(v);
    var tag = objToString.call(v).slice(8, -1);
    var prefix = name === null ? '[Object: null prototype]' : name;
    if (typeof v === 'function') {
      var fb = fnBase(v);
      var fks = ownEnumKeys(v, false);
      if (fks.length === 0 || depth > 2) return fb;
      return withChildren(ctx, v, depth, fb, '{', '}', fks, [], false);
    }
    if (tag === 'Error' || v instanceof Error) {
      var et = errorText(v);
      if (ctx.indent > 0) et = et.split('\n').join('\n' + ' '.repeat(ctx.indent));
      return et;
    }
    if (tag === 'Date' && typeof v.getTime === 'function') { var tm = odGetTime.call(v); return tm !== tm ? 'Invalid Date' : odToISO.call(v); }
    if (tag === 'RegExp') return reToString.call(v);
    if (tag === 'Number' || tag === 'String' || tag === 'Boolean' || tag === 'BigInt' || tag === 'Symbol') {
      try { return '[' + tag + ': ' + fmt(ctx, v.valueOf(), depth) + ']'; } catch (e) { return '[' + tag + ']'; }
    }
    if (tag === 'Promise') return 'Promise { <unknown> }';
    if (tag === 'WeakMap' || tag === 'WeakSet') return tag + ' { <items unknown> }';
    if (depth > 2) {
      if (isArray(v)) return v.length === 0 ? '[]' : '[Array]';
      if (prefix === 'Object' && ownEnumKeys(v, false).length === 0) return '{}';
      return '[' + (prefix || tag || 'Object') + ']';
    }
    if (isArray(v)) {
      var items = [], n = v.length, shown = Math.min(n, 100), holes = 0;
      if (n > 0) ctx.currentDepth = depth + 1;
      ctx.indent += 2;
      for (var i = 0; i < shown; i++) {
        if (!(i in v)) { holes++; continue; }
        if (holes) { items.push('<' + holes + ' empty item' + (holes > 1 ? 's' : '') + '>'); holes = 0; }
        items.push(fmt(ctx, v[i], depth + 1));
      }
      ctx.indent -= 2;
      if (holes) items.push('<' + holes + ' empty item' + (holes > 1 ? 's' : '') + '>');
      var extra = n > shown ? ['... ' + (n - shown) + ' more item' + (n - shown > 1 ? 's' : '')] : [];
      var base = name === 'Array' ? '' : (prefix || '') + '(' + n + ')';
      return withChildren(ctx, v, depth, base, '[', ']', ownEnumKeys(v, true), items.concat(extra), true, extra.length > 0);
    }
    if (isView(v) && tag !== 'DataView') {
      var tItems = [], tn = v.length, tShown = Math.min(tn, 100);
      if (tn > 0) ctx.currentDepth = depth + 1;
      for (var j = 0; j < tShown; j++) tItems.push(typeof v[j] === 'bigint' ? StringC(v[j]) + 'n' : formatNumber(v[j]));
      var tExtra = tn > tShown ? ['... ' + (tn - tShown) + ' more item' + (tn - tShown > 1 ? 's' : '')] : [];
      return withChildren(ctx, v, depth, (prefix || tag) + '(' + tn + ')', '[', ']', [], tItems.concat(tExtra), true, tExtra.length > 0);
    }
    if (tag === 'Map') {
      var mItems = [];
      ctx.currentDepth = depth + 1;
      ctx.indent += 2;
      var it = mapEntries.call(v), r, c = 0;
      while (!(r = it.next()).done && c++ < 100) mItems.push(fmt(ctx, r.value[0], depth + 1) + ' => ' + fmt(ctx, r.value[1], depth + 1));
      ctx.indent -= 2;
      var ms = mapSize.call(v);
      if (ms > 100) mItems.push('... ' + (ms - 100) + ' more items');
      return withChildren(ctx, v, depth, (prefix || 'Map') + '(' + ms + ')', '{', '}', ownEnumKeys(v, false), mItems, false);
    }
    if (tag === 'Set') {
      var sItems = [];
      ctx.currentDepth = depth + 1;
      ctx.indent += 2;
      var sit = setValues.call(v), sr, sc = 0;
      while (!(sr = sit.next()).done && sc++ < 100) sItems.push(fmt(ctx, sr.value, depth + 1));
      ctx.indent -= 2;
      var ss = setSize.call(v);
      if (ss > 100) sItems.push('... ' + (ss - 100) + ' more items');
      return withChildren(ctx, v, depth, (prefix || 'Set') + '(' + ss + ')', '{', '}', ownEnumKeys(v, false), sItems, true);
    }
    if (tag === 'ArrayBuffer') {
      var bytes = new Uint8Array(v), hex = [];
      for (var b = 0; b < Math.min(bytes.length, 50); b++) hex.push((bytes[b] < 16 ? '0' : '') + bytes[b].toString(16));
      return 'ArrayBuffer { [Uint8Contents]: <' + hex.join(' ') + (bytes.length > 50 ? ' ... ' + (bytes.length - 50) + ' more bytes' : '') + '>, byteLength: ' + bytes.length + ' }';
    }
    var okeys = ownEnumKeys(v, false);
    if (okeys.length > 0) ctx.currentDepth = depth + 1;
    var base2 = prefix === 'Object' ? '' : prefix;
    if (tag !== 'Object' && tag !== prefix && tag) base2 = (base2 || 'Object') + ' [' + tag + ']';
    return withChildren(ctx, v, depth, base2, '{', '}', okeys, [], false);
  }
  function withChildren(ctx, v, depth, base, open, close, keys, items, isArrayLike, hasExtra) {
    ctx.seen.push(v);
    var output = items.slice();
    for (var i = 0; i < keys.length; i++) output.push(propEntry(ctx, v, keys[i], depth));
    ctx.seen.pop();
    if (output.length === 0) return (base ? base + ' ' : '') + open + close;
    var saveExtra = ctx.extra;
    ctx.extra = !!hasExtra && isArrayLike && keys.length === 0;
    var res = reduce(ctx, output, base, open, close, ctx.currentDepth - (depth + 1), isArrayLike && keys.length === 0, v);
    ctx.extra = saveExtra;
    return res;
  }
  // reduce() keeps an object on one line only when fewer than 3 levels of non-empty objects sit
  // below it (Node's compact: 3): ctx.currentDepth is the depth of the last one formatted.
  function inspect(v) { return fmt({ seen: [], circular: new Map(), indent: 0, extra: false, currentDepth: 0 }, v, 0); }

  function formatLog(args) {
    var first = args[0];
    var parts = [];
    var start = 0;
    if (typeof first === 'string' && args.length > 1 && first.indexOf('%') >= 0) {
      var a = 1, s = '', last = 0;
      for (var i = 0; i < first.length - 1; i++) {
        if (first[i] !== '%') continue;
        var c = first[i + 1], rep = null;
        if (c === '%') { s += first.slice(last, i) + '%'; last = i + 2; i++; continue; }
        if (a >= args.length) continue;
        var x = args[a];
        if (c === 's') rep = typeof x === 'string' ? x : typeof x === 'bigint' ? StringC(x) + 'n' : typeof x === 'object' && x !== null ? inspect(x) : StringC(x);
        else if (c === 'd' || c === 'i') rep = typeof x === 'bigint' ? StringC(x) + 'n' : typeof x === 'symbol' ? 'NaN' : formatNumber(c === 'i' ? Math.trunc(Number(x)) : Number(x));
        else if (c === 'f') rep = typeof x === 'symbol' ? 'NaN' : formatNumber(parseFloat(x));
        else if (c === 'j') { try { rep = jsonStringify(x); } catch (e) { rep = '[Circular]'; } }
        else if (c === 'o' || c === 'O') rep = inspect(x);
        else if (c === 'c') rep = '';
        if (rep === null) continue;
        s += first.slice(last, i) + rep;
        last = i + 2; i++; a++;
      }
      parts.push(s + first.slice(last));
      start = a;
    }
    for (var k = start; k < args.length; k++) {
      var v = args[k];
      parts.push(typeof v === 'string' ? v : inspect(v));
    }
    return parts.join(' ');
  }

  // ---------------------------------------------------------------- output buffer and console
  var out = [];
  var outLen = 0;
  var dropped = 0;
  var cap = 8000;
  var groupIndent = '';
  function write(text) {
    if (groupIndent) text = groupIndent + text.split('\n').join('\n' + groupIndent);
    var room = cap - outLen;
    if (room <= 0) { dropped += text.length + 1; return; }
    if (text.length + 1 > room) { out.push(text.slice(0, room)); outLen = cap; dropped += text.length + 1 - room; return; }
    out.push(text + '\n');
    outLen += text.length + 1;
  }
  var counts = new Map();
  var timers = new Map();
  function log() { write(formatLog(Array.prototype.slice.call(arguments))); }
  var con = {
    log: log, info: log, debug: log, error: log, warn: log, trace: log,
    dir: function dir(v) { write(inspect(v)); },
    table: log,
    assert: function assert(ok) {
      if (!ok) { var rest = Array.prototype.slice.call(arguments, 1); write('Assertion failed' + (rest.length ? ': ' + formatLog(rest) : '')); }
    },
    count: function count(label) { var l = label === undefined ? 'default' : StringC(label); var n = (counts.get(l) || 0) + 1; counts.set(l, n); write(l + ': ' + n); },
    countReset: function countReset(label) { counts.delete(label === undefined ? 'default' : StringC(label)); },
    group: function group() { if (arguments.length) log.apply(null, arguments); groupIndent += '  '; },
    groupEnd: function groupEnd() { groupIndent = groupIndent.slice(2); },
    time: function time(label) { timers.set(label === undefined ? 'default' : StringC(label), clock); },
    timeEnd: function timeEnd(label) { var l = label === undefined ? 'default' : StringC(label); if (timers.has(l)) { write(l + ': ' + (clock - timers.get(l)) + 'ms'); timers.delete(l); } },
    timeLog: function timeLog(label) { var l = label === undefined ? 'default' : StringC(label); if (timers.has(l)) write(l + ': ' + (clock - timers.get(l)) + 'ms'); },
  };
  con.groupCollapsed = con.group;
  Object.defineProperty(G, 'console', { value: con, writable: true, configurable: true });

  // ---------------------------------------------------------------- host control (never on globalThis)
  var pending = null;
  function isThenable(v) { return v !== null && (typeof v === 'object' || typeof v === 'function') && objToString.call(v) === '[object Promise]'; }
  function drain() {
    var text = out.join('');
    var d = dropped;
    out = []; outLen = 0; dropped = 0; groupIndent = '';
    return { output: text, dropped: d };
  }
  // ---------------------------------------------------------------- value encoding for hidden tests
  // A canonical string of a value, built only from functions captured above and string
  // concatenation, so code loaded earlier cannot change what it says; it runs inside a timed call,
  // so getters and proxy traps that never return are stopped. Mirrored by encodeValue() on the host.
  function encode(v, depth, budget) {
    if (budget.n <= 0 || depth > 64) { budget.n = 0; return 'X'; }
    budget.n--;
    switch (typeof v) {
      case 'undefined': return 'u';
      case 'boolean': return v ? 'b1' : 'b0';
      case 'number': return numIsNaN(v) ? 'N' : 'd' + (v === 0 ? '0' : StringC(v));
      case 'bigint': return 'i' + StringC(v);
      case 'string': return 's' + jsonStringify(v);
      case 'symbol': return 'y';
      case 'function': return 'f';
    }
    if (v === null) return 'n';
    if (isArray(v)) {
      var out = '[';
      for (var i = 0; i < v.length; i++) out += (i ? ',' : '') + encode(v[i], depth + 1, budget);
      return out + ']';
    }
    var keys = arrSort.call(objKeys(v));
    var o = '{';
    for (var j = 0; j < keys.length; j++) o += (j ? ',' : '') + jsonStringify(keys[j]) + ':' + encode(v[keys[j]], depth + 1, budget);
    return o + '}';
  }

  return {
    encode: function (v) { return encode(v, 0, { n: 100000 }); },
    seed: function (seed, clockStart) { rngState = seed >>> 0; clock = clockStart; },
    setCap: function (n) { cap = n; },
    // Called after each script with its completion value. A promise is awaited by the microtask
    // checkpoint that follows this call; the host then calls settle().
    finish: function (value) {
      if (isThenable(value)) {
        pending = { state: 'pending', value: undefined };
        var p = pending;
        value.then(function (x) { p.state = 'fulfilled'; p.value = x; }, function (e) { p.state = 'rejected'; p.value = e; });
        return { promise: true };
      }
      var r = drain();
      r.value = value === undefined ? null : inspect(value);
      return r;
    },
    settle: function () {
      var p = pending;
      pending = null;
      var r = drain();
      r.promise = p ? p.state : 'pending';
      if (p && p.state === 'fulfilled') r.value = p.value === undefined ? null : inspect(p.value);
      else if (p && p.state === 'rejected') r.error = p.value instanceof Error ? errorText(p.value) : 'Uncaught ' + inspect(p.value);
      return r;
    },
    drain: drain,
    inspect: inspect,
  };
})()
`;
