/*
 * The object model: type registry, lazy class creation, instance life cycle
 * and checked casts.
 *
 * What it does not do: properties, interfaces, object trees or type
 * unregistration.  Registered types live for the life of the process.
 *
 * Key invariant: a TypeImpl's class pointer is published (release store)
 * only after the class is fully built, and its parent_type and sizes are
 * fixed before that.  Everything reachable from a published class is thus
 * immutable, which is why casts and reference counting need no lock, while
 * the registry and class construction share one recursive lock (class_init
 * may look up other classes).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qom/object.h"
#include "qemu/atomic.h"
#include "qapi/error.h"
#include <pthread.h>

typedef struct TypeImpl TypeImpl;

struct TypeImpl {
    /* Immutable after registration. */
    char *name;
    const char *info_name;      /* the caller's pointer, for a fast compare */
    char *parent_name;
    size_t info_instance_size;
    size_t info_class_size;
    void (*instance_init)(Object *obj);
    void (*instance_post_init)(Object *obj);
    void (*instance_finalize)(Object *obj);
    void (*class_init)(ObjectClass *klass, void *data);
    void (*class_base_init)(ObjectClass *klass, void *data);
    void *class_data;
    bool abstract;

    /* Written under type_lock while the class is built; then immutable. */
    bool initializing;
    struct TypeImpl *parent_type;
    size_t instance_size;
    size_t class_size;
    ObjectClass *class;         /* atomic: published when complete */
};

static pthread_mutex_t type_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static GHashTable *type_table;  /* name -> TypeImpl, under type_lock */

static G_NORETURN void type_fatal(const char *fmt, ...) QEMU_PRINTF(1, 2);

static void type_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_vreport(fmt, ap);
    va_end(ap);
    abort();
}

/* ---- registry ----------------------------------------------------------- */

static TypeImpl *type_new(const TypeInfo *info, bool copy_name)
{
    TypeImpl *ti = g_new0(TypeImpl, 1);

    ti->name = g_strdup(info->name);
    ti->info_name = copy_name ? ti->name : info->name;
    ti->parent_name = g_strdup(info->parent);
    ti->info_instance_size = info->instance_size;
    ti->info_class_size = info->class_size;
    ti->instance_init = info->instance_init;
    ti->instance_post_init = info->instance_post_init;
    ti->instance_finalize = info->instance_finalize;
    ti->class_init = info->class_init;
    ti->class_base_init = info->class_base_init;
    ti->class_data = info->class_data;
    ti->abstract = info->abstract;
    return ti;
}

static void type_table_add(TypeImpl *ti)
{
    if (g_hash_table_contains(type_table, ti->name)) {
        type_fatal("type '%s' is registered twice", ti->name);
    }
    g_hash_table_insert(type_table, ti->name, ti);
}

static const TypeInfo object_info = {
    .name = TYPE_OBJECT,
    .instance_size = sizeof(Object),
    .class_size = sizeof(ObjectClass),
    .abstract = true,
};

/* Create the table on first use, with the root type in it.  Lock held. */
static GHashTable *type_table_get(void)
{
    if (!type_table) {
        type_table = g_hash_table_new(g_str_hash, g_str_equal);
        type_table_add(type_new(&object_info, false));
    }
    return type_table;
}

static TypeImpl *type_lookup_locked(const char *name)
{
    return g_hash_table_lookup(type_table_get(), name);
}

static Type type_register_internal(const TypeInfo *info, bool copy_name)
{
    TypeImpl *ti;

    if (!info->name) {
        type_fatal("cannot register a type without a name");
    }
    ti = type_new(info, copy_name);
    pthread_mutex_lock(&type_lock);
    type_table_get();
    type_table_add(ti);
    pthread_mutex_unlock(&type_lock);
    return ti;
}

Type type_register_static(const TypeInfo *info)
{
    return type_register_internal(info, false);
}

Type type_register(const TypeInfo *info)
{
    return type_register_internal(info, true);
}

/* ---- class construction ------------------------------------------------- */

static void type_initialize(TypeImpl *ti);

/* Resolve the parent and the inherited sizes.  Lock held. */
static void type_resolve_layout(TypeImpl *ti)
{
    TypeImpl *parent = NULL;
    size_t min_instance = sizeof(Object);
    size_t min_class = sizeof(ObjectClass);

    if (ti->parent_name) {
        parent = type_lookup_locked(ti->parent_name);
        if (!parent) {
            type_fatal("type '%s' has unknown parent type '%s'",
                       ti->name, ti->parent_name);
        }
        type_initialize(parent);
        min_instance = parent->instance_size;
        min_class = parent->class_size;
    }
    ti->parent_type = parent;
    ti->instance_size = ti->info_instance_size ?: min_instance;
    ti->class_size = ti->info_class_size ?: min_class;
    if (ti->instance_size < min_instance || ti->class_size < min_class) {
        type_fatal("type '%s' is smaller than its parent type '%s'",
                   ti->name, parent ? parent->name : "(none)");
    }
}

static ObjectClass *class_build(TypeImpl *ti)
{
    ObjectClass *klass = g_malloc0(ti->class_size);
    TypeImpl *p;

    if (ti->parent_type) {
        memcpy(klass, ti->parent_type->class, ti->parent_type->class_size);
    }
    klass->type = ti;
    for (p = ti->parent_type; p; p = p->parent_type) {
        if (p->class_base_init) {
            p->class_base_init(klass, ti->class_data);
        }
    }
    if (ti->class_init) {
        ti->class_init(klass, ti->class_data);
    }
    return klass;
}

/* Build @ti's class (and its ancestors') if not done yet.  Lock held. */
static void type_initialize(TypeImpl *ti)
{
    if (ti->class) {
        return;
    }
    if (ti->initializing) {
        type_fatal("type '%s' is used while its class is being built "
                   "(cyclic parent chain or lookup from its own class_init)",
                   ti->name);
    }
    ti->initializing = true;
    type_resolve_layout(ti);
    qatomic_store_release(&ti->class, class_build(ti));
    ti->initializing = false;
}

static ObjectClass *type_get_class(TypeImpl *ti)
{
    ObjectClass *klass = qatomic_load_acquire(&ti->class);

    if (!klass) {
        pthread_mutex_lock(&type_lock);
        type_initialize(ti);
        klass = ti->class;
        pthread_mutex_unlock(&type_lock);
    }
    return klass;
}

ObjectClass *object_class_by_name(const char *typename)
{
    TypeImpl *ti;
    ObjectClass *klass = NULL;

    pthread_mutex_lock(&type_lock);
    ti = type_lookup_locked(typename);
    if (ti) {
        type_initialize(ti);
        klass = ti->class;
    }
    pthread_mutex_unlock(&type_lock);
    return klass;
}

const char *object_class_get_name(ObjectClass *klass)
{
    return klass->type->name;
}

ObjectClass *object_class_get_parent(ObjectClass *klass)
{
    TypeImpl *parent = klass->type->parent_type;

    return parent ? parent->class : NULL;
}

bool object_class_is_abstract(ObjectClass *klass)
{
    return klass->type->abstract;
}

/* ---- casts -------------------------------------------------------------- */

/*
 * Casts name the type with the same string constant its TypeInfo used,
 * so a walk comparing pointers nearly always settles it; only then are
 * the names compared (a name built at run time, or a constant the linker
 * did not merge).
 */
static bool type_is_a(const TypeImpl *ti, const char *typename)
{
    for (const TypeImpl *t = ti; t; t = t->parent_type) {
        if (t->info_name == typename) {
            return true;
        }
    }
    for (; ti; ti = ti->parent_type) {
        if (!strcmp(ti->name, typename)) {
            return true;
        }
    }
    return false;
}

ObjectClass *object_class_dynamic_cast(ObjectClass *klass,
                                       const char *typename)
{
    if (klass && type_is_a(klass->type, typename)) {
        return klass;
    }
    return NULL;
}

ObjectClass *object_class_dynamic_cast_assert(ObjectClass *klass,
                                              const char *typename,
                                              const char *file, int line,
                                              const char *func)
{
    if (klass && !type_is_a(klass->type, typename)) {
        type_fatal("%s:%d:%s: class of type '%s' is not a class of "
                   "type '%s'", file, line, func, klass->type->name,
                   typename);
    }
    return klass;
}

Object *object_dynamic_cast(Object *obj, const char *typename)
{
    if (obj && object_class_dynamic_cast(obj->class, typename)) {
        return obj;
    }
    return NULL;
}

Object *object_dynamic_cast_assert(Object *obj, const char *typename,
                                   const char *file, int line,
                                   const char *func)
{
    if (!obj) {
        return NULL;
    }
    if (!obj->class) {
        type_fatal("%s:%d:%s: object %p is not initialised (cast to '%s')",
                   file, line, func, (void *)obj, typename);
    }
    if (!type_is_a(obj->class->type, typename)) {
        type_fatal("%s:%d:%s: object %p of type '%s' is not an instance "
                   "of type '%s'", file, line, func, (void *)obj,
                   obj->class->type->name, typename);
    }
    return obj;
}

/* ---- instances ---------------------------------------------------------- */

static void instance_init_chain(Object *obj, TypeImpl *ti)
{
    if (ti->parent_type) {
        instance_init_chain(obj, ti->parent_type);
    }
    if (ti->instance_init) {
        ti->instance_init(obj);
    }
}

static void instance_post_init_chain(Object *obj, TypeImpl *ti)
{
    if (ti->parent_type) {
        instance_post_init_chain(obj, ti->parent_type);
    }
    if (ti->instance_post_init) {
        ti->instance_post_init(obj);
    }
}

/* Class of @ti ready for instantiation, or abort. */
static ObjectClass *instantiable_class(TypeImpl *ti)
{
    ObjectClass *klass = type_get_class(ti);

    if (ti->abstract) {
        type_fatal("cannot create an object of abstract type '%s'", ti->name);
    }
    return klass;
}

static void object_initialize_with_type(void *data, size_t size,
                                        TypeImpl *ti)
{
    ObjectClass *klass = instantiable_class(ti);
    Object *obj = data;

    if (size < ti->instance_size) {
        type_fatal("object of type '%s' needs %zu bytes, given %zu",
                   ti->name, ti->instance_size, size);
    }
    memset(obj, 0, ti->instance_size);
    obj->class = klass;
    obj->ref = 1;
    instance_init_chain(obj, ti);
    instance_post_init_chain(obj, ti);
}

static TypeImpl *type_by_name_or_abort(const char *typename)
{
    TypeImpl *ti;

    pthread_mutex_lock(&type_lock);
    ti = type_lookup_locked(typename);
    pthread_mutex_unlock(&type_lock);
    if (!ti) {
        type_fatal("unknown type '%s'", typename);
    }
    return ti;
}

void object_initialize(void *data, size_t size, const char *typename)
{
    object_initialize_with_type(data, size, type_by_name_or_abort(typename));
}

Object *object_new_with_type(Type type)
{
    Object *obj;

    g_assert(type != NULL);
    instantiable_class(type);
    obj = g_malloc(type->instance_size);
    object_initialize_with_type(obj, type->instance_size, type);
    obj->free = g_free;
    return obj;
}

Object *object_new(const char *typename)
{
    return object_new_with_type(type_by_name_or_abort(typename));
}

Object *object_ref(void *objptr)
{
    Object *obj = objptr;

    if (!obj) {
        return NULL;
    }
    g_assert(qatomic_read(&obj->ref) > 0);
    qatomic_inc(&obj->ref);
    return obj;
}

static void object_finalize(Object *obj)
{
    TypeImpl *ti;

    for (ti = obj->class->type; ti; ti = ti->parent_type) {
        if (ti->instance_finalize) {
            ti->instance_finalize(obj);
        }
    }
    /* A finalizer that took and kept a reference is a bug. */
    g_assert(qatomic_read(&obj->ref) == 0);
    if (obj->free) {
        obj->free(obj);
    }
}

void object_unref(void *objptr)
{
    Object *obj = objptr;

    if (!obj) {
        return;
    }
    g_assert(qatomic_read(&obj->ref) > 0);
    if (qatomic_fetch_dec(&obj->ref) == 1) {
        object_finalize(obj);
    }
}

ObjectClass *object_get_class(Object *obj)
{
    return obj->class;
}

const char *object_get_typename(const Object *obj)
{
    return obj->class->type->name;
}
