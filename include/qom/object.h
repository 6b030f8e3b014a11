/*
 * A small object model: named types with single inheritance, class
 * structures that act as vtables, and reference-counted instances.
 *
 * It is the part of QEMU's QOM that the I/O channel classes need, with the
 * same names: no properties, no interfaces, no object tree.
 *
 * A type is described by a TypeInfo and registered under a unique name,
 * normally from a type_init() function that runs before main().  Each type
 * has exactly one class structure, created on first use: it starts as a
 * byte copy of the parent's class (so the child inherits every method
 * pointer), then the child's class_init may override methods.  An instance
 * starts with an Object header whose class pointer says what it is; casts
 * check that the instance's type is the target type or derives from it.
 *
 * Thread safety: registration and class lookup may happen on any thread
 * (one internal lock serialises them).  Casting and reference counting
 * never take a lock.  class_init and class_base_init callbacks run with
 * that lock held: they may look up other classes but must not wait for
 * another thread that does.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef QOM_OBJECT_H
#define QOM_OBJECT_H

#include "qemu/osdep.h"

/* Name of the root type; every other type derives from it. */
#define TYPE_OBJECT "object"

/* Handle of a registered type (opaque). */
typedef struct TypeImpl *Type;

/* Frees an instance's memory once it has been finalized. */
typedef void (ObjectFree)(void *obj);

/*
 * The header of every class structure.  A class structure for type T is
 * declared as a struct whose first member is the parent's class structure,
 * followed by T's own method pointers.
 */
struct ObjectClass {
    /* private: */
    Type type;
};

/*
 * The header of every instance.  An instance of T is a struct whose first
 * member is the parent's instance struct.
 */
struct Object {
    /* private: */
    ObjectClass *class;     /* set once at initialisation, never changes */
    ObjectFree *free;       /* NULL for objects initialised in place */
    int ref;                /* atomic */
};

/*
 * TypeInfo: what type_register_static() needs to know about a type.
 *
 * @name: unique type name (the TYPE_FOO string).
 * @parent: name of the parent type; NULL only for a root type.  The parent
 *   need not be registered yet: it is resolved when the class is first used.
 * @instance_size: size of the instance struct; 0 inherits the parent's.
 * @instance_init: called on a zeroed instance, after the parent's
 *   instance_init (so ancestors are set up first).  Optional.
 * @instance_post_init: called after every instance_init has run, ancestors
 *   first.  Optional.
 * @instance_finalize: called when the last reference is dropped, before the
 *   parent's instance_finalize.  Must not fail.  Optional.
 * @abstract: the type exists only to be derived from; object_new() of it
 *   aborts.
 * @class_size: size of the class struct; 0 inherits the parent's.
 * @class_init: called once, after the parent's class has been copied into
 *   this class; may override inherited methods.  Optional.
 * @class_base_init: called on every descendant's class right after the
 *   copy from its parent and before the descendant's own class_init, so a
 *   base type can reset per-class fields that must not be inherited.
 *   Optional.
 * @class_data: passed to class_init (and to ancestors' class_base_init).
 */
typedef struct TypeInfo {
    const char *name;
    const char *parent;

    size_t instance_size;
    void (*instance_init)(Object *obj);
    void (*instance_post_init)(Object *obj);
    void (*instance_finalize)(Object *obj);

    bool abstract;
    size_t class_size;

    void (*class_init)(ObjectClass *klass, void *data);
    void (*class_base_init)(ObjectClass *klass, void *data);
    void *class_data;
} TypeInfo;

/* ---- casts -------------------------------------------------------------- */

/* Unchecked conversion of any instance or class pointer to its header. */
#define OBJECT(obj) ((Object *)(obj))
#define OBJECT_CLASS(class) ((ObjectClass *)(class))

/*
 * Checked cast of instance @obj to @type *, where @name is the type name of
 * @type.  Aborts, naming both types and the call site, when @obj is not an
 * instance of @name or of a type derived from it.  NULL stays NULL.
 */
#define OBJECT_CHECK(type, obj, name)                                   \
    ((type *)object_dynamic_cast_assert(OBJECT(obj), (name),           \
                                        __FILE__, __LINE__, __func__))

/* As OBJECT_CHECK, for a class pointer. */
#define OBJECT_CLASS_CHECK(class_type, class, name)                     \
    ((class_type *)object_class_dynamic_cast_assert(OBJECT_CLASS(class), \
                                                    (name), __FILE__,   \
                                                    __LINE__, __func__))

/* The class of instance @obj, checked to be (or derive from) @name. */
#define OBJECT_GET_CLASS(class, obj, name)                              \
    OBJECT_CLASS_CHECK(class, object_get_class(OBJECT(obj)), name)

/*
 * OBJECT_DECLARE_TYPE(InstanceType, ClassType, MODULE_OBJ_NAME):
 * for a type whose name macro is TYPE_<MODULE_OBJ_NAME>, declare the
 * typedefs "InstanceType" and "ClassType", g_autoptr(InstanceType) support
 * (drops a reference), and three checked casts:
 *   MODULE_OBJ_NAME(obj)            instance -> InstanceType *
 *   MODULE_OBJ_NAME##_GET_CLASS(obj) instance -> ClassType *
 *   MODULE_OBJ_NAME##_CLASS(klass)  class    -> ClassType *
 * The structs themselves are defined by the caller.
 */
#define OBJECT_DECLARE_TYPE(InstanceType, ClassType, MODULE_OBJ_NAME)   \
    typedef struct InstanceType InstanceType;                           \
    typedef struct ClassType ClassType;                                 \
    G_DEFINE_AUTOPTR_CLEANUP_FUNC(InstanceType, object_unref)           \
    static inline G_GNUC_UNUSED InstanceType *                          \
    MODULE_OBJ_NAME(const void *obj)                                    \
    {                                                                   \
        return OBJECT_CHECK(InstanceType, obj,                          \
                            TYPE_##MODULE_OBJ_NAME);                    \
    }                                                                   \
    static inline G_GNUC_UNUSED ClassType *                             \
    MODULE_OBJ_NAME##_GET_CLASS(const void *obj)                        \
    {                                                                   \
        return OBJECT_GET_CLASS(ClassType, obj,                         \
                                TYPE_##MODULE_OBJ_NAME);                \
    }                                                                   \
    static inline G_GNUC_UNUSED ClassType *                             \
    MODULE_OBJ_NAME##_CLASS(const void *klass)                          \
    {                                                                   \
        return OBJECT_CLASS_CHECK(ClassType, klass,                     \
                                  TYPE_##MODULE_OBJ_NAME);              \
    }

/*
 * OBJECT_DECLARE_SIMPLE_TYPE(InstanceType, MODULE_OBJ_NAME): for a type
 * that adds no methods (its class struct is its parent's), declare the
 * typedef "InstanceType", g_autoptr support and the checked cast
 * MODULE_OBJ_NAME(obj).
 */
#define OBJECT_DECLARE_SIMPLE_TYPE(InstanceType, MODULE_OBJ_NAME)       \
    typedef struct InstanceType InstanceType;                           \
    G_DEFINE_AUTOPTR_CLEANUP_FUNC(InstanceType, object_unref)           \
    static inline G_GNUC_UNUSED InstanceType *                          \
    MODULE_OBJ_NAME(const void *obj)                                    \
    {                                                                   \
        return OBJECT_CHECK(InstanceType, obj,                          \
                            TYPE_##MODULE_OBJ_NAME);                    \
    }

/* ---- registration ------------------------------------------------------- */

/*
 * Register the type described by @info and return its handle.  @info and
 * the strings it points to must stay valid for the life of the process
 * (a static const TypeInfo is the normal case).  Aborts if the name is
 * already registered.  Any thread; usually called from type_init().
 */
Type type_register_static(const TypeInfo *info);

/* As type_register_static, but @info itself need not outlive the call. */
Type type_register(const TypeInfo *info);

/*
 * type_init(fn): run @fn (of type void fn(void)) before main(), from a
 * constructor; @fn normally calls type_register_static().  Types can also
 * be registered at any later time.
 */
#define type_init(function)                                             \
    static void __attribute__((constructor))                            \
    glue(spindle_type_init_, function)(void)                            \
    {                                                                   \
        function();                                                     \
    }

/* ---- instances ---------------------------------------------------------- */

/*
 * Allocate and initialise an instance of @typename with one reference.
 * Initialisation runs every instance_init from the root down, then every
 * instance_post_init.  Aborts if the type is unknown or abstract.  Any
 * thread.
 */
Object *object_new(const char *typename);

/* As object_new, for a type handle. */
Object *object_new_with_type(Type type);

/*
 * Initialise an instance of @typename in caller-provided storage @data of
 * @size bytes (at least the type's instance_size), with one reference.
 * When the last reference is dropped the object is finalized but @data is
 * not freed.  Aborts if the type is unknown, abstract or too large.
 */
void object_initialize(void *data, size_t size, const char *typename);

/*
 * Take a reference to @obj (an Object or any derived instance).  Returns
 * @obj; NULL is passed through.  Any thread.
 */
Object *object_ref(void *obj);

/*
 * Drop a reference to @obj.  Dropping the last one runs instance_finalize
 * of the object's type, then of each ancestor up to the root, then frees
 * the memory if object_new allocated it.  NULL is ignored.  Any thread,
 * but the caller must own the reference it drops.
 */
void object_unref(void *obj);

/* The class of @obj (never NULL for an initialised object). */
ObjectClass *object_get_class(Object *obj);

/* The name of @obj's type; valid for the life of the process. */
const char *object_get_typename(const Object *obj);

/*
 * Return @obj if it is an instance of @typename or of a type derived from
 * it, NULL otherwise (also when @obj is NULL or @typename is unknown).
 * Lock-free; any thread.
 */
Object *object_dynamic_cast(Object *obj, const char *typename);

/*
 * As object_dynamic_cast, but a failed cast of a non-NULL @obj aborts with
 * a message naming @obj's type, @typename and the call site
 * (@file:@line:@func).  Use through OBJECT_CHECK.
 */
Object *object_dynamic_cast_assert(Object *obj, const char *typename,
                                   const char *file, int line,
                                   const char *func);

/* ---- classes ------------------------------------------------------------ */

/* Name of the type @klass belongs to. */
const char *object_class_get_name(ObjectClass *klass);

/* The parent type's class, or NULL for a root type. */
ObjectClass *object_class_get_parent(ObjectClass *klass);

/*
 * The class of type @typename, initialising it (and its ancestors) on
 * first use; NULL if no such type is registered.  Aborts if the type's
 * ancestry is broken (an unregistered parent).  Any thread.
 */
ObjectClass *object_class_by_name(const char *typename);

/* Whether @klass belongs to an abstract type. */
bool object_class_is_abstract(ObjectClass *klass);

/*
 * Return @klass if its type is @typename or derives from it, else NULL
 * (also for a NULL @klass).  Lock-free; any thread.
 */
ObjectClass *object_class_dynamic_cast(ObjectClass *klass,
                                       const char *typename);

/*
 * As object_class_dynamic_cast, but a failed cast of a non-NULL @klass
 * aborts with a message naming both types and the call site.  Use through
 * OBJECT_CLASS_CHECK.
 */
ObjectClass *object_class_dynamic_cast_assert(ObjectClass *klass,
                                              const char *typename,
                                              const char *file, int line,
                                              const char *func);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Object, object_unref)

#endif /* QOM_OBJECT_H */
