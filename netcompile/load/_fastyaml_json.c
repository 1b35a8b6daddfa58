/* The JSON reader of netcompile.load._fastyaml.
 *
 * json_documents(): every JSON value of a text (RFC 8259; a stream of values separated by blanks, as jq
 * prints them), as YMap/YList/scalars with the same packed positions as the YAML readers. It is the C
 * twin of netcompile/jsonread.py's _PyReader, which defines what is read and the messages: the same
 * values, positions and problems (tests/test_json.py). It reads the str's own code points (so columns
 * count characters), left to right without recursion: levels past max_depth are checked, not built.
 */
#include "_fastyaml.h"

#define J_END ((Py_UCS4)0xFFFFFFFF)
#define J_CACHE 8192 /* short strings (keys, "TCP", "v1") are made once per text */
#define J_CACHED_LENGTH 32

typedef struct {
    PyObject *text;
    unsigned int hash; /* compared first: most misses then read no object */
} JCached;

typedef struct {
    PyObject *container, *positions, *key; /* key: pending (NULL for a repeated key: its value is dropped) */
    long long where;                       /* packed position of the pending value */
    int is_map;
} JFrame;

typedef struct {
    PyObject *text;
    int kind;
    const void *data;
    Py_ssize_t n;
    PyObject *file, *ymap, *ylist, *positions_name, *duplicates_name;
    long long line;        /* line of line_start: lines end at "\n" only */
    Py_ssize_t line_start; /* offset of the current line's first character */
    long max_depth;
    PyObject *problems;
    int failed, repeats; /* the current document: dropped at a limit; repeats a key */
    JFrame *frames;
    Py_ssize_t nframes, cap_frames;
    unsigned char *deep; /* levels past max_depth: 1 an object, 0 an array */
    Py_ssize_t ndeep, cap_deep;
    Py_UCS4 *buf; /* a string with escapes, decoded */
    Py_ssize_t cap_buf;
    JCached *cache;
    int syntax;          /* a syntax error was found: at err_at, err */
    Py_ssize_t err_at;
    char err[160];
} JReader;

static inline Py_UCS4 j_at(JReader *r, Py_ssize_t i) { return i < r->n ? PyUnicode_READ(r->kind, r->data, i) : J_END; }

static Py_ssize_t j_ws(JReader *r, Py_ssize_t i) {
    if (r->kind == PyUnicode_1BYTE_KIND) { /* most texts: the same loop, without the kind switch */
        const Py_UCS1 *t = r->data;
        while (i < r->n) {
            Py_UCS1 c = t[i];
            if (c == ' ' || c == '\t' || c == '\r') {
                i++;
            } else if (c == '\n') {
                i++;
                r->line++;
                r->line_start = i;
            } else {
                break;
            }
        }
        return i;
    }
    while (i < r->n) {
        Py_UCS4 c = PyUnicode_READ(r->kind, r->data, i);
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
        } else if (c == '\n') {
            i++;
            r->line++;
            r->line_start = i;
        } else {
            break;
        }
    }
    return i;
}

static long long j_pos(JReader *r, Py_ssize_t i) {
    long long column = (long long)(i - r->line_start) + 1;
    return fy_pack(r->line, column);
}

static void j_describe(Py_UCS4 c, char *out, size_t size) {
    if (c == J_END)
        snprintf(out, size, "end of input");
    else if (c >= '!' && c <= '~')
        snprintf(out, size, "'%c'", (char)c);
    else
        snprintf(out, size, "U+%04X", (unsigned)c);
}

static void j_syntax(JReader *r, Py_ssize_t at, const char *message) {
    r->syntax = 1;
    r->err_at = at;
    snprintf(r->err, sizeof r->err, "%s", message);
}

/* "expected <what>, found <the character at `at`>" */
static void j_expected(JReader *r, Py_ssize_t at, const char *what) {
    char found[32], message[160];
    j_describe(j_at(r, at), found, sizeof found);
    snprintf(message, sizeof message, "expected %s, found %s", what, found);
    j_syntax(r, at, message);
}

static int j_limit(JReader *r, Py_ssize_t at, const char *what, Py_ssize_t digits) {
    if (r->failed)
        return 0;
    r->failed = 1;
    PyObject *problem = Py_BuildValue("(Lnsn)", r->line, at - r->line_start + 1, what, digits);
    int failed = problem == NULL || PyList_Append(r->problems, problem) < 0;
    Py_XDECREF(problem);
    return failed ? -1 : 0;
}

/* text[a:b] as a str (new reference); short ones from the cache. */
static PyObject *j_substring(JReader *r, Py_ssize_t a, Py_ssize_t b) {
    Py_ssize_t length = b - a;
    if (length > J_CACHED_LENGTH)
        return PyUnicode_Substring(r->text, a, b);
    unsigned int h = 2166136261u;
    int narrow = r->kind == PyUnicode_1BYTE_KIND;
    if (narrow) {
        const Py_UCS1 *t = (const Py_UCS1 *)r->data + a;
        for (Py_ssize_t k = 0; k < length; k++)
            h = (h ^ t[k]) * 16777619u;
    } else {
        for (Py_ssize_t k = a; k < b; k++)
            h = (h ^ PyUnicode_READ(r->kind, r->data, k)) * 16777619u;
    }
    JCached *slot = &r->cache[h & (J_CACHE - 1)];
    PyObject *cached = slot->text;
    if (cached != NULL && slot->hash == h && PyUnicode_GET_LENGTH(cached) == length) {
        int kind = PyUnicode_KIND(cached);
        const void *data = PyUnicode_DATA(cached);
        Py_ssize_t k = 0;
        if (narrow && kind == PyUnicode_1BYTE_KIND)
            k = memcmp(data, (const Py_UCS1 *)r->data + a, (size_t)length) == 0 ? length : 0;
        else
            while (k < length && PyUnicode_READ(kind, data, k) == PyUnicode_READ(r->kind, r->data, a + k))
                k++;
        if (k == length) {
            Py_INCREF(cached);
            return cached;
        }
    }
    PyObject *s = PyUnicode_Substring(r->text, a, b);
    if (s != NULL && cached == NULL) { /* first come, kept: replacing would touch (cold) unique strings */
        slot->text = Py_NewRef(s);
        slot->hash = h;
    }
    return s;
}

static int j_hex4(JReader *r, Py_ssize_t i, Py_UCS4 *out) {
    Py_UCS4 v = 0;
    for (Py_ssize_t k = i; k < i + 4; k++) {
        Py_UCS4 c = j_at(r, k);
        if (c >= '0' && c <= '9')
            v = v * 16 + (c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v = v * 16 + (c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

static int j_put(JReader *r, Py_ssize_t *length, Py_UCS4 c) {
    if (*length == r->cap_buf) {
        Py_ssize_t cap = r->cap_buf ? r->cap_buf * 2 : 256;
        Py_UCS4 *grown = PyMem_Realloc(r->buf, (size_t)cap * sizeof(Py_UCS4));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        r->buf = grown;
        r->cap_buf = cap;
    }
    r->buf[(*length)++] = c;
    return 0;
}

/* The string whose opening quote is at i (new reference), and the offset after it; NULL on an error. */
static PyObject *j_string(JReader *r, Py_ssize_t i, Py_ssize_t *end) {
    Py_ssize_t j = i + 1;
    Py_UCS4 c = J_END;
    if (r->kind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *t = r->data;
        while (j < r->n && t[j] != '"' && t[j] != '\\' && t[j] >= 0x20)
            j++;
        if (j < r->n)
            c = t[j];
    } else {
        while (j < r->n) {
            c = PyUnicode_READ(r->kind, r->data, j);
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            j++;
        }
    }
    if (j < r->n && c == '"') {
        *end = j + 1;
        return j_substring(r, i + 1, j);
    }
    Py_ssize_t length = 0;
    for (Py_ssize_t k = i + 1; k < j; k++)
        if (j_put(r, &length, PyUnicode_READ(r->kind, r->data, k)) < 0)
            return NULL;
    char message[96], found[32];
    while (j < r->n) {
        c = PyUnicode_READ(r->kind, r->data, j);
        if (c == '"') {
            *end = j + 1;
            return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, r->buf, length);
        }
        if (c < 0x20) {
            j_describe(c, found, sizeof found);
            snprintf(message, sizeof message, "unescaped control character %s in a string", found);
            j_syntax(r, j, message);
            return NULL;
        }
        if (c != '\\') {
            if (j_put(r, &length, c) < 0)
                return NULL;
            j++;
            continue;
        }
        Py_UCS4 e = j_at(r, j + 1), decoded;
        switch (e) {
        case '"': case '\\': case '/': decoded = e; break;
        case 'b': decoded = '\b'; break;
        case 'f': decoded = '\f'; break;
        case 'n': decoded = '\n'; break;
        case 'r': decoded = '\r'; break;
        case 't': decoded = '\t'; break;
        case 'u':
            if (!j_hex4(r, j + 2, &decoded)) {
                j_syntax(r, j, "invalid \\u escape: expected 4 hexadecimal digits");
                return NULL;
            }
            j += 6;
            if (decoded >= 0xD800 && decoded <= 0xDBFF) { /* a pair, or a lone surrogate: U+FFFD, as Go */
                Py_UCS4 low;
                if (j_at(r, j) == '\\' && j_at(r, j + 1) == 'u' && j_hex4(r, j + 2, &low) && low >= 0xDC00 &&
                    low <= 0xDFFF) {
                    decoded = 0x10000 + ((decoded - 0xD800) << 10) + (low - 0xDC00);
                    j += 6;
                } else {
                    decoded = 0xFFFD;
                }
            } else if (decoded >= 0xDC00 && decoded <= 0xDFFF) {
                decoded = 0xFFFD;
            }
            if (j_put(r, &length, decoded) < 0)
                return NULL;
            continue;
        default:
            j_describe(e, found, sizeof found);
            snprintf(message, sizeof message, "invalid escape: '\\' followed by %s", found);
            j_syntax(r, j, message);
            return NULL;
        }
        if (j_put(r, &length, decoded) < 0)
            return NULL;
        j += 2;
    }
    j_syntax(r, i, "unterminated string");
    return NULL;
}

static inline int j_digit(Py_UCS4 c) { return c >= '0' && c <= '9'; }

/* The number at i (new reference; None past the digits Python converts), and the offset after it. */
static PyObject *j_number(JReader *r, Py_ssize_t i, Py_ssize_t *end) {
    Py_ssize_t j = i;
    int negative = j_at(r, j) == '-', is_float = 0;
    j += negative;
    Py_UCS4 c = j_at(r, j);
    if (c == '0') {
        j++;
    } else if (c >= '1' && c <= '9') {
        while (j_digit(j_at(r, j)))
            j++;
    } else {
        j_expected(r, j, "a digit");
        return NULL;
    }
    if (j_at(r, j) == '.') {
        j++;
        if (!j_digit(j_at(r, j))) {
            j_expected(r, j, "a digit");
            return NULL;
        }
        while (j_digit(j_at(r, j)))
            j++;
        is_float = 1;
    }
    c = j_at(r, j);
    if (c == 'e' || c == 'E') {
        j++;
        c = j_at(r, j);
        if (c == '+' || c == '-')
            j++;
        if (!j_digit(j_at(r, j))) {
            j_expected(r, j, "a digit");
            return NULL;
        }
        while (j_digit(j_at(r, j)))
            j++;
        is_float = 1;
    }
    *end = j;
    Py_ssize_t length = j - i;
    if (!is_float && length - negative <= 18) {
        long long v = 0;
        for (Py_ssize_t k = i + negative; k < j; k++)
            v = v * 10 + (long long)(PyUnicode_READ(r->kind, r->data, k) - '0');
        return PyLong_FromLongLong(negative ? -v : v);
    }
    if (!is_float) {
        PyObject *digits = PyUnicode_Substring(r->text, i, j);
        PyObject *v = digits ? PyLong_FromUnicodeObject(digits, 10) : NULL;
        Py_XDECREF(digits);
        if (v == NULL && PyErr_ExceptionMatches(PyExc_ValueError)) { /* past sys.get_int_max_str_digits() */
            PyErr_Clear();
            if (j_limit(r, i, "number", length - negative) < 0)
                return NULL;
            Py_RETURN_NONE;
        }
        return v;
    }
    char small[64];
    char *ascii = length < (Py_ssize_t)sizeof small ? small : PyMem_Malloc((size_t)length + 1);
    if (ascii == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t k = 0; k < length; k++)
        ascii[k] = (char)PyUnicode_READ(r->kind, r->data, i + k);
    ascii[length] = '\0';
    double d = PyOS_string_to_double(ascii, NULL, NULL); /* as float(): overflow is inf */
    if (ascii != small)
        PyMem_Free(ascii);
    if (d == -1.0 && PyErr_Occurred())
        return NULL;
    return PyFloat_FromDouble(d);
}

static int j_literal(JReader *r, Py_ssize_t i, const char *word) {
    for (Py_ssize_t k = 0; word[k]; k++)
        if (j_at(r, i + k) != (Py_UCS4)(unsigned char)word[k])
            return 0;
    return 1;
}

/* A key and its colon at i, for `frame` (-1: past max_depth); the offset after them, or -1. */
static Py_ssize_t j_key(JReader *r, Py_ssize_t i, Py_ssize_t frame, const char *expected) {
    if (j_at(r, i) != '"') {
        j_expected(r, i, expected);
        return -1;
    }
    Py_ssize_t j;
    PyObject *key = j_string(r, i, &j);
    if (key == NULL)
        return -1;
    if (frame >= 0) {
        JFrame *f = &r->frames[frame];
        int seen = PyDict_Contains(f->container, key);
        if (seen < 0) {
            Py_DECREF(key);
            return -1;
        }
        if (seen) { /* as source._Converter: the first value stays, the key is listed with its position */
            PyObject *duplicates = PyObject_GetAttr(f->container, r->duplicates_name);
            if (duplicates == Py_None) {
                Py_DECREF(duplicates);
                duplicates = PyList_New(0);
                if (duplicates == NULL || PyObject_SetAttr(f->container, r->duplicates_name, duplicates) < 0) {
                    Py_XDECREF(duplicates);
                    Py_DECREF(key);
                    return -1;
                }
            }
            PyObject *entry = duplicates ? Py_BuildValue("(OL)", key, j_pos(r, i)) : NULL;
            int failed = entry == NULL || PyList_Append(duplicates, entry) < 0;
            Py_XDECREF(entry);
            Py_XDECREF(duplicates);
            Py_DECREF(key);
            if (failed)
                return -1;
            r->repeats = 1;
        } else {
            Py_XSETREF(f->key, key);
        }
    } else {
        Py_DECREF(key);
    }
    j = j_ws(r, j);
    if (j_at(r, j) != ':') {
        j_expected(r, j, "':' after a key");
        return -1;
    }
    return j_ws(r, j + 1);
}

static int j_push_frame(JReader *r, PyObject *container, PyObject *positions, int is_map) {
    if (r->nframes == r->cap_frames) {
        Py_ssize_t cap = r->cap_frames ? r->cap_frames * 2 : 16;
        JFrame *grown = PyMem_Realloc(r->frames, (size_t)cap * sizeof(JFrame));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        r->frames = grown;
        r->cap_frames = cap;
    }
    JFrame *f = &r->frames[r->nframes++];
    f->container = container;
    f->positions = positions;
    f->key = NULL;
    f->where = 0;
    f->is_map = is_map;
    return 0;
}

static int j_push_deep(JReader *r, int is_map) {
    if (r->ndeep == r->cap_deep) {
        Py_ssize_t cap = r->cap_deep ? r->cap_deep * 2 : 64;
        unsigned char *grown = PyMem_Realloc(r->deep, (size_t)cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        r->deep = grown;
        r->cap_deep = cap;
    }
    r->deep[r->ndeep++] = (unsigned char)is_map;
    return 0;
}

static void j_drop_frames(JReader *r) {
    while (r->nframes > 0) {
        JFrame *f = &r->frames[--r->nframes];
        Py_XDECREF(f->container);
        Py_XDECREF(f->positions);
        Py_XDECREF(f->key);
    }
    r->ndeep = 0;
}

/* The value starting at *at, not blank (new reference), with *at moved past it; NULL on an error. */
static PyObject *j_document(JReader *r, Py_ssize_t *at) {
    Py_ssize_t i = *at;
    PyObject *value = NULL;
    for (;;) { /* a value starts at i */
        Py_UCS4 c = j_at(r, i);
        int building = r->ndeep == 0;
        long long here = building ? j_pos(r, i) : 0;
        if (building && r->nframes > 0)
            r->frames[r->nframes - 1].where = here;
        if (c == '{' || c == '[') {
            int is_map = c == '{';
            Py_UCS4 close = is_map ? '}' : ']';
            Py_ssize_t frame = -1;
            if (building && r->nframes <= r->max_depth) {
                PyObject *pos = PyLong_FromLongLong(here);
                PyObject *args[2] = {r->file, pos};
                PyObject *container = pos ? PyObject_Vectorcall(is_map ? r->ymap : r->ylist, args, 2, NULL) : NULL;
                Py_XDECREF(pos);
                PyObject *positions = container ? PyObject_GetAttr(container, r->positions_name) : NULL;
                if (positions == NULL || j_push_frame(r, container, positions, is_map) < 0) {
                    Py_XDECREF(container);
                    Py_XDECREF(positions);
                    goto fail;
                }
                frame = r->nframes - 1;
            } else {
                if (building && j_limit(r, i, "depth", 0) < 0)
                    goto fail;
                if (j_push_deep(r, is_map) < 0)
                    goto fail;
            }
            i = j_ws(r, i + 1);
            if (j_at(r, i) != close) {
                if (is_map && (i = j_key(r, i, frame, "a string key or '}'")) < 0)
                    goto fail;
                continue;
            }
            i++;
            if (frame < 0) {
                r->ndeep--;
                value = Py_NewRef(Py_None);
            } else {
                JFrame *f = &r->frames[--r->nframes];
                value = f->container;
                Py_DECREF(f->positions);
            }
        } else if (c == '"') {
            value = j_string(r, i, &i);
        } else if (c == '-' || j_digit(c)) {
            value = j_number(r, i, &i);
        } else if (j_literal(r, i, "true")) {
            value = Py_NewRef(Py_True);
            i += 4;
        } else if (j_literal(r, i, "false")) {
            value = Py_NewRef(Py_False);
            i += 5;
        } else if (j_literal(r, i, "null")) {
            value = Py_NewRef(Py_None);
            i += 4;
        } else {
            j_expected(r, i, "a value");
        }
        if (value == NULL)
            goto fail;
        for (;;) { /* after a value: into its container, then the next value or the container's end */
            int is_map;
            if (r->ndeep > 0) {
                is_map = r->deep[r->ndeep - 1];
            } else if (r->nframes == 0) {
                *at = i;
                return value;
            } else {
                JFrame *f = &r->frames[r->nframes - 1];
                is_map = f->is_map;
                if (!is_map || f->key != NULL) {
                    PyObject *pos = PyLong_FromLongLong(f->where);
                    int failed = pos == NULL ||
                                 (is_map ? PyDict_SetItem(f->container, f->key, value) < 0 ||
                                               PyDict_SetItem(f->positions, f->key, pos) < 0
                                         : PyList_Append(f->container, value) < 0 || PyList_Append(f->positions, pos) < 0);
                    Py_XDECREF(pos);
                    Py_CLEAR(f->key);
                    if (failed)
                        goto fail;
                }
            }
            Py_CLEAR(value);
            Py_UCS4 close = is_map ? '}' : ']';
            i = j_ws(r, i);
            c = j_at(r, i);
            if (c == ',') {
                i = j_ws(r, i + 1);
                if (is_map && (i = j_key(r, i, r->ndeep > 0 ? -1 : r->nframes - 1, "a string key")) < 0)
                    goto fail;
                break;
            }
            if (c != close) {
                j_expected(r, i, is_map ? "',' or '}'" : "',' or ']'");
                goto fail;
            }
            i++;
            if (r->ndeep > 0) {
                r->ndeep--;
                value = Py_NewRef(Py_None);
            } else {
                JFrame *f = &r->frames[--r->nframes];
                value = f->container;
                Py_DECREF(f->positions);
                Py_XDECREF(f->key);
            }
        }
    }
fail:
    Py_XDECREF(value);
    j_drop_frames(r);
    return NULL;
}

static PyObject *j_read_all(JReader *r) {
    PyObject *docs = PyList_New(0);
    if (docs == NULL)
        return NULL;
    Py_ssize_t i = r->n > 0 && PyUnicode_READ(r->kind, r->data, 0) == 0xFEFF ? 1 : 0;
    for (;;) {
        i = j_ws(r, i);
        if (i >= r->n)
            break;
        r->failed = r->repeats = 0;
        Py_UCS4 first = PyUnicode_READ(r->kind, r->data, i);
        long long here = j_pos(r, i);
        PyObject *value = j_document(r, &i);
        if (value == NULL) {
            if (r->syntax && !PyErr_Occurred())
                break;
            Py_DECREF(docs);
            return NULL;
        }
        if (!r->failed) {
            PyObject *doc = Py_BuildValue("(OLO)", value, here, r->repeats ? Py_True : Py_False);
            int failed = doc == NULL || PyList_Append(docs, doc) < 0;
            Py_XDECREF(doc);
            if (failed) {
                Py_DECREF(value);
                Py_DECREF(docs);
                return NULL;
            }
        }
        Py_DECREF(value);
        Py_UCS4 c = j_at(r, i);
        if ((first == '-' || j_digit(first) || first == 't' || first == 'f' || first == 'n') && c != J_END &&
            c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            j_expected(r, i, "whitespace or end of input after a top-level value");
            break;
        }
    }
    return docs;
}

PyObject *fy_json_documents(PyObject *Py_UNUSED(module), PyObject *args) {
    JReader r;
    memset(&r, 0, sizeof r);
    if (!PyArg_ParseTuple(args, "UULlOO", &r.text, &r.file, &r.line, &r.max_depth, &r.ymap, &r.ylist))
        return NULL;
    r.kind = PyUnicode_KIND(r.text);
    r.data = PyUnicode_DATA(r.text);
    r.n = PyUnicode_GET_LENGTH(r.text);
    PyObject *result = NULL, *docs = NULL;
    r.positions_name = PyUnicode_InternFromString("positions");
    r.duplicates_name = PyUnicode_InternFromString("duplicates");
    r.problems = PyList_New(0);
    r.cache = PyMem_Calloc(J_CACHE, sizeof(JCached));
    if (r.positions_name == NULL || r.duplicates_name == NULL || r.problems == NULL)
        goto done;
    if (r.cache == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    docs = j_read_all(&r);
    if (docs == NULL)
        goto done;
    if (r.syntax)
        result = Py_BuildValue("(OO(Lns))", docs, r.problems, r.line, r.err_at - r.line_start + 1, r.err);
    else
        result = PyTuple_Pack(3, docs, r.problems, Py_None);
done:
    j_drop_frames(&r);
    if (r.cache != NULL) {
        for (Py_ssize_t k = 0; k < J_CACHE; k++)
            Py_XDECREF(r.cache[k].text);
        PyMem_Free(r.cache);
    }
    PyMem_Free(r.frames);
    PyMem_Free(r.deep);
    PyMem_Free(r.buf);
    Py_XDECREF(docs);
    Py_XDECREF(r.problems);
    Py_XDECREF(r.positions_name);
    Py_XDECREF(r.duplicates_name);
    return result;
}
