/* The common case of reading YAML, in C: plain Kubernetes documents straight from libyaml's events to
 * netcompile's YMap/YList, with the same values and positions as source._Converter makes from
 * PyYAML's nodes (tests/test_loading.py compares them).
 *
 * Only what needs no judgement is done here. Anything else -- an anchor, an alias, a tag, a merge key,
 * a repeated key, a key that is not a string, a document that is not a mapping, nesting past the limit,
 * a syntax error -- makes documents() return None, and the caller reads the piece the Python way,
 * which reports or handles it. Plain scalars are typed from one table of known texts (text -> value) that
 * the caller gives, and, when the caller says which characters an implicit type other than string can
 * start with (`starts`: scalars.PLAIN_STARTS, from PyYAML's resolver), a text that starts with none of
 * them or holds two dots is a string, as scalars.plain_tag decides (and goes to the table, within the
 * bounds given: the only change made to it). Any other plain scalar is left as its
 * text and listed, for the caller to type (YAML 1.1, as PyYAML) and put in place: nothing here calls
 * back into Python.
 */
#include "_fastyaml.h"
#include <structmember.h>
#include <yaml.h>

/* Containers in containers: the reader recurses once per level, so it gives deeper documents up (to the
 * Python reader) whatever the --max-depth it is given. */
#define MAX_NESTING 256

typedef struct {
    yaml_parser_t parser;
    yaml_event_t event;
    PyObject *file, *ymap, *ylist, *known;
    int typing_text;    /* whether the caller said which characters start other types than string: */
    char starts[128];   /* ASCII characters that may start a plain scalar of another type than string */
    int nonascii_start; /* whether a non-ASCII character may */
    Py_ssize_t max_known, max_text; /* strings typed so are added to the table while it holds fewer than
                                       max_known texts, when they have at most max_text characters */
    PyObject *untyped; /* [(container, key or index, text)]: plain scalars not in `known`; key None for a key */
    PyObject *no_args, *file_name, *pos_name, *positions_name, *duplicates_name;
    /* Where each type's slots file, pos, positions (and duplicates) are in an instance, found from the
     * slots' member descriptors; -1 where a slot is not such a member (then set by PyObject_SetAttr). */
    Py_ssize_t map_slots[4], list_slots[4];
    long first_line;
    long max_depth;
    int bail; /* set when the input leaves the common case: the caller falls back, no exception */
} Reader;

static int next_event(Reader *r) {
    yaml_event_delete(&r->event);
    if (!yaml_parser_parse(&r->parser, &r->event)) {
        r->bail = 1;
        return -1;
    }
    return 0;
}

static PyObject *packed(Reader *r, yaml_mark_t mark) {
    long long line = (long long)mark.line + r->first_line;
    return PyLong_FromLongLong(fy_pack(line, (long long)mark.column + 1));
}

/* Whether a plain scalar's text can only be a string, as PyYAML's resolver decides (scalars.plain_tag):
 * no implicit type starts with its first character, or it holds more than one dot. */
static int only_text(const Reader *r, const unsigned char *s, size_t length) {
    if (!r->typing_text || length == 0)
        return 0;
    int dots = 0;
    for (size_t i = 0; i < length; i++)
        if (s[i] == '.' && ++dots > 1)
            return 1;
    return s[0] < 128 ? !r->starts[s[0]] : !r->nonascii_start;
}

/* A scalar's value (new reference); NULL with r->bail for an anchor or a tag. A plain scalar that is not
 * in the table and not only text is its text, with *untyped set. */
static PyObject *scalar(Reader *r, int *untyped) {
    yaml_event_t *e = &r->event;
    if (e->data.scalar.anchor != NULL || e->data.scalar.tag != NULL) {
        r->bail = 1;
        return NULL;
    }
    PyObject *text = PyUnicode_DecodeUTF8((const char *)e->data.scalar.value, (Py_ssize_t)e->data.scalar.length,
                                          "strict");
    if (text == NULL || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return text;
    if (!e->data.scalar.plain_implicit) { /* cannot happen without a tag; be safe */
        Py_DECREF(text);
        r->bail = 1;
        return NULL;
    }
    PyObject *value = PyDict_GetItemWithError(r->known, text);
    if (value != NULL) {
        Py_INCREF(value);
        Py_DECREF(text);
        return value;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(text);
        return NULL;
    }
    if (!only_text(r, e->data.scalar.value, e->data.scalar.length)) {
        *untyped = 1;
        return text;
    }
    /* A string: added to the table, as scalars.plain_value adds what it types, so that a text read again
     * is the same object (and its hash known), within the caller's bounds. */
    if (PyUnicode_GET_LENGTH(text) <= r->max_text && PyDict_GET_SIZE(r->known) < r->max_known &&
        PyDict_SetItem(r->known, text, text) < 0) {
        Py_DECREF(text);
        return NULL;
    }
    return text;
}

/* Lists a plain scalar left as its text: at `where` (a key or an index) in `container`, or the key itself
 * (where None). */
static int list_untyped(Reader *r, PyObject *container, PyObject *where, PyObject *text) {
    PyObject *entry = PyTuple_Pack(3, container, where, text);
    int failed = entry == NULL || PyList_Append(r->untyped, entry) < 0;
    Py_XDECREF(entry);
    return failed ? -1 : 0;
}

static PyObject *node(Reader *r, long depth, int *untyped);

/* Where the slot `name` of `type` is in its instances: a member descriptor's offset, or -1. */
static Py_ssize_t slot_offset(PyObject *type, PyObject *name) {
    PyObject *descr = PyObject_GetAttr(type, name);
    Py_ssize_t offset = -1;
    if (descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type == T_OBJECT_EX && !(member->flags & READONLY))
            offset = member->offset;
    }
    Py_XDECREF(descr);
    PyErr_Clear();
    return offset;
}

/* Sets a slot of a new instance at its offset (empty until now), else by its name. */
static int set_slot(PyObject *out, Py_ssize_t offset, PyObject *name, PyObject *value) {
    if (offset < 0)
        return PyObject_SetAttr(out, name, value);
    PyObject **slot = (PyObject **)((char *)out + offset);
    Py_XSETREF(*slot, Py_NewRef(value));
    return 0;
}

/* An empty YMap or YList as its __init__(file, pos) makes it, without a call into Python for each: the
 * type's __new__ (dict's, list's), then its slots file, pos, positions (a new, empty dict or list) and a
 * YMap's duplicates (None), each set where its member descriptor says. tests/test_fastyaml.py holds both
 * types' slots to these. *positions: a new reference to the positions. */
static PyObject *new_container(Reader *r, int is_map, PyObject *pos, PyObject **positions) {
    PyTypeObject *type = (PyTypeObject *)(is_map ? r->ymap : r->ylist);
    Py_ssize_t *at = is_map ? r->map_slots : r->list_slots;
    PyObject *out = type->tp_new(type, r->no_args, NULL);
    *positions = out == NULL ? NULL : is_map ? PyDict_New() : PyList_New(0);
    if (*positions == NULL || set_slot(out, at[0], r->file_name, r->file) < 0 ||
        set_slot(out, at[1], r->pos_name, pos) < 0 || set_slot(out, at[2], r->positions_name, *positions) < 0 ||
        (is_map && set_slot(out, at[3], r->duplicates_name, Py_None) < 0)) {
        Py_XDECREF(*positions);
        Py_XDECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *container(Reader *r, long depth, int is_map) {
    yaml_event_t *e = &r->event;
    if ((is_map ? (e->data.mapping_start.anchor || e->data.mapping_start.tag)
                : (e->data.sequence_start.anchor || e->data.sequence_start.tag)) ||
        depth > r->max_depth || depth > MAX_NESTING) {
        r->bail = 1;
        return NULL;
    }
    PyObject *pos = packed(r, e->start_mark);
    if (pos == NULL)
        return NULL;
    PyObject *positions;
    PyObject *out = new_container(r, is_map, pos, &positions);
    Py_DECREF(pos);
    if (out == NULL)
        return NULL;
    for (;;) {
        if (next_event(r) < 0)
            goto fail;
        if (e->type == (is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT))
            break;
        PyObject *key = NULL;
        if (is_map) {
            if (e->type != YAML_SCALAR_EVENT) { /* a complex key */
                r->bail = 1;
                goto fail;
            }
            int untyped_key = 0;
            key = scalar(r, &untyped_key);
            if (key == NULL)
                goto fail;
            int seen = PyUnicode_CheckExact(key) ? PyDict_Contains(out, key) : 1; /* 1: x, true: y */
            if (seen == 0 && untyped_key)
                seen = list_untyped(r, out, Py_None, key);
            if (seen != 0 || next_event(r) < 0) {
                if (seen > 0)
                    r->bail = 1;
                Py_DECREF(key);
                goto fail;
            }
        }
        PyObject *where = packed(r, e->start_mark);
        int untyped = 0;
        PyObject *value = where ? node(r, depth + 1, &untyped) : NULL;
        int failed = value == NULL;
        if (!failed && untyped) {
            PyObject *index = is_map ? Py_NewRef(key) : PyLong_FromSsize_t(PyList_GET_SIZE(out));
            failed = index == NULL || list_untyped(r, out, index, value) < 0;
            Py_XDECREF(index);
        }
        if (!failed)
            failed = is_map ? (PyDict_SetItem(out, key, value) < 0 || PyDict_SetItem(positions, key, where) < 0)
                            : (PyList_Append(out, value) < 0 || PyList_Append(positions, where) < 0);
        Py_XDECREF(key);
        Py_XDECREF(where);
        Py_XDECREF(value);
        if (failed)
            goto fail;
    }
    Py_DECREF(positions);
    return out;
fail:
    Py_XDECREF(positions);
    Py_DECREF(out);
    return NULL;
}

/* The value of the node whose first event is the current one (new reference), or NULL. */
static PyObject *node(Reader *r, long depth, int *untyped) {
    switch (r->event.type) {
    case YAML_SCALAR_EVENT:
        return scalar(r, untyped);
    case YAML_SEQUENCE_START_EVENT:
        return container(r, depth, 0);
    case YAML_MAPPING_START_EVENT:
        return container(r, depth, 1);
    default: /* an alias */
        r->bail = 1;
        return NULL;
    }
}

static PyObject *read_all(Reader *r, PyObject *docs) {
    yaml_event_t *e = &r->event;
    if (next_event(r) < 0 || e->type != YAML_STREAM_START_EVENT)
        return NULL;
    for (;;) {
        if (next_event(r) < 0)
            return NULL;
        if (e->type == YAML_STREAM_END_EVENT)
            return docs;
        if (e->type != YAML_DOCUMENT_START_EVENT || next_event(r) < 0) {
            r->bail = 1;
            return NULL;
        }
        if (e->type == YAML_MAPPING_START_EVENT) {
            PyObject *doc = container(r, 0, 1);
            int failed = doc == NULL || PyList_Append(docs, doc) < 0;
            Py_XDECREF(doc);
            if (failed)
                return NULL;
        } else if (!(e->type == YAML_SCALAR_EVENT && e->data.scalar.length == 0 && !e->data.scalar.anchor &&
                     !e->data.scalar.tag && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)) {
            r->bail = 1; /* not a mapping, and not empty: reported the Python way */
            return NULL;
        }
        if (next_event(r) < 0 || e->type != YAML_DOCUMENT_END_EVENT) {
            r->bail = 1;
            return NULL;
        }
    }
}

PyObject *fy_documents(PyObject *Py_UNUSED(module), PyObject *args) {
    Reader r;
    PyObject *text, *starts = NULL;
    memset(&r, 0, sizeof r);
    if (!PyArg_ParseTuple(args, "UUllOOO|Unn", &text, &r.file, &r.first_line, &r.max_depth, &r.ymap, &r.ylist,
                          &r.known, &starts, &r.max_known, &r.max_text))
        return NULL;
    /* Without `starts`, every plain scalar not in the table is listed. */
    r.typing_text = starts != NULL;
    if (starts != NULL) {
        for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(starts); i++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(starts, i);
            if (c < 128)
                r.starts[c] = 1;
            else
                r.nonascii_start = 1;
        }
    }
    if (!PyDict_Check(r.known)) {
        PyErr_SetString(PyExc_TypeError, "known must be a dict");
        return NULL;
    }
    if (!PyType_Check(r.ymap) || !PyType_IsSubtype((PyTypeObject *)r.ymap, &PyDict_Type) || !PyType_Check(r.ylist) ||
        !PyType_IsSubtype((PyTypeObject *)r.ylist, &PyList_Type)) {
        PyErr_SetString(PyExc_TypeError, "YMap must be a type of dict, YList a type of list");
        return NULL;
    }
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &size); /* ASCII text: its own buffer, not a copy */
    if (utf8 == NULL)
        return NULL;
    r.no_args = PyTuple_New(0);
    r.file_name = PyUnicode_InternFromString("file");
    r.pos_name = PyUnicode_InternFromString("pos");
    r.positions_name = PyUnicode_InternFromString("positions");
    r.duplicates_name = PyUnicode_InternFromString("duplicates");
    PyObject *docs = PyList_New(0);
    r.untyped = PyList_New(0);
    PyObject *result = NULL;
    int ready = r.no_args != NULL && r.file_name != NULL && r.pos_name != NULL && r.positions_name != NULL &&
                r.duplicates_name != NULL && docs != NULL && r.untyped != NULL;
    if (ready) {
        PyObject *names[4] = {r.file_name, r.pos_name, r.positions_name, r.duplicates_name};
        for (int k = 0; k < 4; k++) {
            r.map_slots[k] = slot_offset(r.ymap, names[k]);
            r.list_slots[k] = k < 3 ? slot_offset(r.ylist, names[k]) : -1;
        }
    }
    if (ready && yaml_parser_initialize(&r.parser)) {
        yaml_parser_set_input_string(&r.parser, (const unsigned char *)utf8, (size_t)size);
        yaml_parser_set_encoding(&r.parser, YAML_UTF8_ENCODING);
        PyObject *read = read_all(&r, docs);
        yaml_event_delete(&r.event);
        yaml_parser_delete(&r.parser);
        if (read != NULL)
            result = PyTuple_Pack(2, docs, r.untyped);
        else if (r.bail && !PyErr_Occurred())
            result = Py_NewRef(Py_None);
    } else if (!PyErr_Occurred()) {
        PyErr_NoMemory();
    }
    Py_XDECREF(docs);
    Py_XDECREF(r.untyped);
    Py_XDECREF(r.no_args);
    Py_XDECREF(r.file_name);
    Py_XDECREF(r.pos_name);
    Py_XDECREF(r.positions_name);
    Py_XDECREF(r.duplicates_name);
    return result;
}

/* How deep a text nests, without building anything: (line, column) of the first mapping or sequence
 * nested deeper than max_depth (0-based, as libyaml's marks; None when there is none), and whether
 * some collection nests deeper than stop (the scan ends there). A syntax error ends it too. */
PyObject *fy_nesting(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *text;
    long max_depth, stop;
    if (!PyArg_ParseTuple(args, "Ull", &text, &max_depth, &stop))
        return NULL;
    PyObject *utf8 = PyUnicode_AsUTF8String(text);
    if (utf8 == NULL)
        return NULL;
    yaml_parser_t parser;
    yaml_event_t event;
    if (!yaml_parser_initialize(&parser)) {
        Py_DECREF(utf8);
        return PyErr_NoMemory();
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)PyBytes_AS_STRING(utf8),
                                 (size_t)PyBytes_GET_SIZE(utf8));
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
    long depth = 0;
    int found = 0, deeper = 0;
    size_t line = 0, column = 0;
    while (yaml_parser_parse(&parser, &event)) {
        yaml_event_type_t type = event.type;
        if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT) {
            if (depth > max_depth && !found) {
                found = 1;
                line = event.start_mark.line;
                column = event.start_mark.column;
            }
            depth++;
        } else if (type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&event);
        if (depth > stop) {
            deeper = 1;
            break;
        }
        if (type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
    Py_DECREF(utf8);
    if (found)
        return Py_BuildValue("(nnO)", (Py_ssize_t)line, (Py_ssize_t)column, deeper ? Py_True : Py_False);
    return Py_BuildValue("(OOO)", Py_None, Py_None, deeper ? Py_True : Py_False);
}
