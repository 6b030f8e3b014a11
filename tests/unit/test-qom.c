/*
 * Tests for qom/object.h: types, class inheritance, casts and lifetimes.
 *
 * The hierarchy under test:
 *   object <- test-animal (abstract) <- test-dog <- test-puppy
 *                                    <- test-cat
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "qemu/osdep.h"
#include "qom/object.h"
#include "qemu/thread.h"
#include "qemu/atomic.h"

/* Every init/finalize hook appends a token here, so tests can check order. */
static GString *trace;

static void trace_add(const char *what)
{
    if (trace) {
        g_string_append_printf(trace, "%s ", what);
    }
}

/* ---- test-animal: abstract base with a default method ------------------ */

#define TYPE_ANIMAL "test-animal"
OBJECT_DECLARE_TYPE(Animal, AnimalClass, ANIMAL)

struct Animal {
    Object parent_obj;
    int legs;
    int post_inits;
};

struct AnimalClass {
    ObjectClass parent_class;
    const char *(*speak)(Animal *a);
    int own_class_inits;    /* reset by class_base_init in each subclass */
};

static const char *animal_speak(Animal *a)
{
    return "...";
}

static void animal_class_init(ObjectClass *oc, void *data)
{
    AnimalClass *ac = ANIMAL_CLASS(oc);

    ac->speak = animal_speak;
    ac->own_class_inits++;
}

static void animal_class_base_init(ObjectClass *oc, void *data)
{
    ANIMAL_CLASS(oc)->own_class_inits = 0;
}

static void animal_init(Object *obj)
{
    ANIMAL(obj)->legs = 4;
    trace_add("animal-init");
}

static void animal_post_init(Object *obj)
{
    ANIMAL(obj)->post_inits++;
    trace_add("animal-post");
}

static void animal_finalize(Object *obj)
{
    trace_add("animal-fin");
}

static const TypeInfo animal_info = {
    .name = TYPE_ANIMAL,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(Animal),
    .instance_init = animal_init,
    .instance_post_init = animal_post_init,
    .instance_finalize = animal_finalize,
    .abstract = true,
    .class_size = sizeof(AnimalClass),
    .class_init = animal_class_init,
    .class_base_init = animal_class_base_init,
};

/* ---- test-dog: overrides speak, adds a method and a field -------------- */

#define TYPE_DOG "test-dog"
OBJECT_DECLARE_TYPE(Dog, DogClass, DOG)

struct Dog {
    Animal parent_obj;
    int tricks;
};

struct DogClass {
    AnimalClass parent_class;
    int (*fetch)(Dog *d);
    const char *class_data;
};

static const char *dog_speak(Animal *a)
{
    return "woof";
}

static int dog_fetch(Dog *d)
{
    return ++d->tricks;
}

static void dog_class_init(ObjectClass *oc, void *data)
{
    DogClass *dc = DOG_CLASS(oc);

    ANIMAL_CLASS(oc)->speak = dog_speak;
    ANIMAL_CLASS(oc)->own_class_inits++;
    dc->fetch = dog_fetch;
    dc->class_data = data;
}

static void dog_init(Object *obj)
{
    /* The parent's instance_init has already run. */
    g_assert_cmpint(ANIMAL(obj)->legs, ==, 4);
    trace_add("dog-init");
}

static void dog_post_init(Object *obj)
{
    trace_add("dog-post");
}

static void dog_finalize(Object *obj)
{
    trace_add("dog-fin");
}

static const TypeInfo dog_info = {
    .name = TYPE_DOG,
    .parent = TYPE_ANIMAL,
    .instance_size = sizeof(Dog),
    .instance_init = dog_init,
    .instance_post_init = dog_post_init,
    .instance_finalize = dog_finalize,
    .class_size = sizeof(DogClass),
    .class_init = dog_class_init,
    .class_data = (void *)"dog-data",
};

/* ---- test-puppy: a simple type, inherits everything from dog ----------- */

#define TYPE_PUPPY "test-puppy"
OBJECT_DECLARE_SIMPLE_TYPE(Puppy, PUPPY)

struct Puppy {
    Dog parent_obj;
    int age;
};

static void puppy_finalize(Object *obj)
{
    trace_add("puppy-fin");
}

static const TypeInfo puppy_info = {
    .name = TYPE_PUPPY,
    .parent = TYPE_DOG,
    .instance_size = sizeof(Puppy),
    .instance_finalize = puppy_finalize,
};

/* ---- test-cat: inherits the default speak, sizes inherited ------------- */

#define TYPE_CAT "test-cat"

static const TypeInfo cat_info = {
    .name = TYPE_CAT,
    .parent = TYPE_ANIMAL,
};

static void register_test_types(void)
{
    type_register_static(&animal_info);
    type_register_static(&dog_info);
    type_register_static(&puppy_info);
    type_register_static(&cat_info);
}

type_init(register_test_types)

/* ---- classes ------------------------------------------------------------ */

static void test_type_init_registered(void)
{
    /* type_init ran before main(): the types exist without any call. */
    g_assert_nonnull(object_class_by_name(TYPE_PUPPY));
    g_assert_nonnull(object_class_by_name(TYPE_OBJECT));
    g_assert_null(object_class_by_name("test-no-such-type"));
}

static void test_class_inherit_vtable(void)
{
    AnimalClass *cat = ANIMAL_CLASS(object_class_by_name(TYPE_CAT));
    AnimalClass *dog = ANIMAL_CLASS(object_class_by_name(TYPE_DOG));
    AnimalClass *puppy = ANIMAL_CLASS(object_class_by_name(TYPE_PUPPY));

    /* cat has no class_init: it keeps the parent's method. */
    g_assert_true(cat->speak == animal_speak);
    /* dog overrides it; puppy inherits the override and dog's method. */
    g_assert_true(dog->speak == dog_speak);
    g_assert_true(puppy->speak == dog_speak);
    g_assert_true(DOG_CLASS(puppy)->fetch == dog_fetch);
    /* class_data reaches class_init and is inherited by the copy. */
    g_assert_cmpstr(DOG_CLASS(puppy)->class_data, ==, "dog-data");
}

static void test_class_base_init(void)
{
    AnimalClass *animal = ANIMAL_CLASS(object_class_by_name(TYPE_ANIMAL));
    AnimalClass *dog = ANIMAL_CLASS(object_class_by_name(TYPE_DOG));
    AnimalClass *puppy = ANIMAL_CLASS(object_class_by_name(TYPE_PUPPY));

    /* Without the reset, dog would count 2 (inherited 1 + its own). */
    g_assert_cmpint(animal->own_class_inits, ==, 1);
    g_assert_cmpint(dog->own_class_inits, ==, 1);
    g_assert_cmpint(puppy->own_class_inits, ==, 0);
}

static void test_class_names_and_parents(void)
{
    ObjectClass *puppy = object_class_by_name(TYPE_PUPPY);
    ObjectClass *dog = object_class_get_parent(puppy);
    ObjectClass *animal = object_class_get_parent(dog);
    ObjectClass *root = object_class_get_parent(animal);

    g_assert_cmpstr(object_class_get_name(puppy), ==, TYPE_PUPPY);
    g_assert_true(dog == object_class_by_name(TYPE_DOG));
    g_assert_cmpstr(object_class_get_name(animal), ==, TYPE_ANIMAL);
    g_assert_cmpstr(object_class_get_name(root), ==, TYPE_OBJECT);
    g_assert_null(object_class_get_parent(root));
}

static void test_class_abstract(void)
{
    g_assert_true(object_class_is_abstract(
                      object_class_by_name(TYPE_ANIMAL)));
    g_assert_true(object_class_is_abstract(
                      object_class_by_name(TYPE_OBJECT)));
    g_assert_false(object_class_is_abstract(
                       object_class_by_name(TYPE_DOG)));
}

/* ---- casts -------------------------------------------------------------- */

static void test_cast_up_and_down(void)
{
    g_autoptr(Puppy) p = PUPPY(object_new(TYPE_PUPPY));
    Object *obj = OBJECT(p);
    Animal *a = ANIMAL(obj);
    Dog *d = DOG(a);

    g_assert_true((void *)a == (void *)p && (void *)d == (void *)p);
    g_assert_true(PUPPY(d) == p);
    g_assert_true(object_dynamic_cast(obj, TYPE_OBJECT) == obj);
    g_assert_true(object_dynamic_cast(obj, TYPE_ANIMAL) == obj);
    g_assert_cmpstr(ANIMAL_GET_CLASS(p)->speak(a), ==, "woof");
    g_assert_cmpint(DOG_GET_CLASS(p)->fetch(d), ==, 1);
    g_assert_cmpstr(object_get_typename(obj), ==, TYPE_PUPPY);
}

static void test_cast_fail_returns_null(void)
{
    g_autoptr(Dog) d = DOG(object_new(TYPE_DOG));
    ObjectClass *dc = object_get_class(OBJECT(d));

    /* A parent is not an instance of its subclass, nor of a sibling. */
    g_assert_null(object_dynamic_cast(OBJECT(d), TYPE_PUPPY));
    g_assert_null(object_dynamic_cast(OBJECT(d), TYPE_CAT));
    g_assert_null(object_dynamic_cast(OBJECT(d), "test-no-such-type"));
    g_assert_null(object_dynamic_cast(NULL, TYPE_DOG));
    g_assert_null(object_class_dynamic_cast(dc, TYPE_PUPPY));
    g_assert_true(object_class_dynamic_cast(dc, TYPE_ANIMAL) == dc);
    g_assert_null(object_class_dynamic_cast(NULL, TYPE_ANIMAL));
    /* The checked casts let NULL through. */
    g_assert_null(DOG(NULL));
    g_assert_null(OBJECT_CLASS_CHECK(DogClass, NULL, TYPE_DOG));
}

static void test_cast_name_not_interned(void)
{
    g_autoptr(Dog) d = DOG(object_new(TYPE_DOG));
    g_autofree char *name = g_strdup(TYPE_ANIMAL);

    /* A cast by a name with a different address still matches. */
    g_assert_true(object_dynamic_cast(OBJECT(d), name) == OBJECT(d));
}

static void test_cast_assert_aborts(void)
{
    if (g_test_subprocess()) {
        Object *obj = object_new(TYPE_CAT);

        DOG(obj);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*test-qom.c*type 'test-cat' is not an "
                              "instance of type 'test-dog'*");
}

static void test_class_cast_assert_aborts(void)
{
    if (g_test_subprocess()) {
        DOG_CLASS(object_class_by_name(TYPE_CAT));
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*class of type 'test-cat' is not a class "
                              "of type 'test-dog'*");
}

/* ---- instances ---------------------------------------------------------- */

static void test_new_abstract_aborts(void)
{
    if (g_test_subprocess()) {
        object_new(TYPE_ANIMAL);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*abstract type 'test-animal'*");
}

static void test_new_unknown_aborts(void)
{
    if (g_test_subprocess()) {
        object_new("test-no-such-type");
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*unknown type 'test-no-such-type'*");
}

static void test_init_order(void)
{
    Animal *a;

    trace = g_string_new("");
    a = ANIMAL(object_new(TYPE_PUPPY));
    g_assert_cmpstr(trace->str, ==,
                    "animal-init dog-init animal-post dog-post ");
    g_assert_cmpint(a->post_inits, ==, 1);
    g_assert_cmpint(DOG(a)->tricks, ==, 0);   /* zeroed before init */
    object_unref(a);
    g_string_free(trace, true);
    trace = NULL;
}

static void test_finalize_order(void)
{
    Object *obj = object_new(TYPE_PUPPY);

    trace = g_string_new("");
    object_unref(obj);
    g_assert_cmpstr(trace->str, ==, "puppy-fin dog-fin animal-fin ");
    g_string_free(trace, true);
    trace = NULL;
}

static void test_refcount(void)
{
    Object *obj = object_new(TYPE_DOG);

    trace = g_string_new("");
    g_assert_true(object_ref(obj) == obj);
    object_ref(obj);
    object_unref(obj);
    object_unref(obj);
    g_assert_cmpstr(trace->str, ==, "");     /* one reference left */
    object_unref(obj);
    g_assert_cmpstr(trace->str, ==, "dog-fin animal-fin ");
    g_string_free(trace, true);
    trace = NULL;

    g_assert_null(object_ref(NULL));
    object_unref(NULL);
}

static void test_autoptr(void)
{
    trace = g_string_new("");
    {
        g_autoptr(Dog) d = DOG(object_new(TYPE_DOG));
        g_autoptr(Object) o = object_new(TYPE_CAT);

        g_assert_nonnull(d);
        g_assert_nonnull(o);
    }
    /* Both dropped at scope end, the later declared first. */
    g_assert_true(g_str_has_suffix(trace->str,
                                   "post animal-fin dog-fin animal-fin "));
    g_string_free(trace, true);
    trace = NULL;
}

static void test_initialize_in_place(void)
{
    /* Freeing this stack storage would be caught by ASan. */
    Dog storage;

    trace = g_string_new("");
    memset(&storage, 0xaa, sizeof(storage));
    object_initialize(&storage, sizeof(storage), TYPE_DOG);
    g_assert_cmpint(storage.tricks, ==, 0);
    g_assert_cmpint(storage.parent_obj.legs, ==, 4);
    g_assert_true(DOG(&storage) == &storage);
    object_unref(&storage);
    g_assert_cmpstr(trace->str,
                    ==, "animal-init dog-init animal-post dog-post "
                    "dog-fin animal-fin ");
    g_string_free(trace, true);
    trace = NULL;
}

static void test_initialize_too_small_aborts(void)
{
    if (g_test_subprocess()) {
        Animal storage;

        object_initialize(&storage, sizeof(storage), TYPE_DOG);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*'test-dog' needs*");
}

static void test_new_with_type(void)
{
    static const TypeInfo info = {
        .name = "test-with-type",
        .parent = TYPE_CAT,
    };
    Type t = type_register_static(&info);
    Object *obj = object_new_with_type(t);

    g_assert_cmpstr(object_get_typename(obj), ==, "test-with-type");
    /* Sizes were inherited through two levels. */
    g_assert_cmpint(ANIMAL(obj)->legs, ==, 4);
    object_unref(obj);
}

/* ---- registration ------------------------------------------------------- */

static void test_register_copies_info(void)
{
    TypeInfo *info = g_new0(TypeInfo, 1);
    char *name = g_strdup("test-dynamic");
    Object *obj;

    info->name = name;
    info->parent = TYPE_DOG;
    type_register(info);
    /* The registry must not keep pointers into the caller's copies. */
    memset(name, 'x', strlen(name));
    g_free(name);
    g_free(info);

    obj = object_new("test-dynamic");
    g_assert_cmpstr(object_get_typename(obj), ==, "test-dynamic");
    g_assert_nonnull(DOG(obj));
    object_unref(obj);
}

static void test_register_twice_aborts(void)
{
    if (g_test_subprocess()) {
        type_register_static(&dog_info);
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*type 'test-dog' is registered twice*");
}

static void test_unknown_parent_aborts(void)
{
    if (g_test_subprocess()) {
        static const TypeInfo orphan = {
            .name = "test-orphan",
            .parent = "test-missing-parent",
        };

        type_register_static(&orphan);  /* allowed: resolved lazily */
        object_class_by_name("test-orphan");
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*'test-orphan' has unknown parent type "
                              "'test-missing-parent'*");
}

static void test_cyclic_parent_aborts(void)
{
    if (g_test_subprocess()) {
        static const TypeInfo a = { .name = "test-cyc-a",
                                    .parent = "test-cyc-b" };
        static const TypeInfo b = { .name = "test-cyc-b",
                                    .parent = "test-cyc-a" };

        type_register_static(&a);
        type_register_static(&b);
        object_class_by_name("test-cyc-a");
        return;
    }
    g_test_trap_subprocess(NULL, 0, 0);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*cyclic*");
}

/* ---- threads ------------------------------------------------------------ */

#define N_THREADS 4

static int racy_class_inits;

static void racy_class_init(ObjectClass *oc, void *data)
{
    qatomic_inc(&racy_class_inits);
}

static const TypeInfo racy_info = {
    .name = "test-racy",
    .parent = TYPE_DOG,
    .class_init = racy_class_init,
};

static void *lookup_and_churn(void *opaque)
{
    Object *shared = opaque;
    int i;

    g_assert_nonnull(object_class_by_name("test-racy"));
    for (i = 0; i < 1000; i++) {
        object_ref(shared);
        g_assert_nonnull(DOG(shared));
        object_unref(shared);
    }
    object_unref(shared);   /* the reference the main thread gave us */
    return NULL;
}

static void test_threads_class_once_and_refs(void)
{
    QemuThread threads[N_THREADS];
    Object *shared = object_new(TYPE_DOG);
    int i;

    type_register_static(&racy_info);
    trace = g_string_new("");
    for (i = 0; i < N_THREADS; i++) {
        object_ref(shared);
        qemu_thread_create(&threads[i], "qom-test", lookup_and_churn,
                           shared, QEMU_THREAD_JOINABLE);
    }
    for (i = 0; i < N_THREADS; i++) {
        qemu_thread_join(&threads[i]);
    }
    g_assert_cmpint(racy_class_inits, ==, 1);
    g_assert_cmpstr(trace->str, ==, "");
    object_unref(shared);
    g_assert_cmpstr(trace->str, ==, "dog-fin animal-fin ");
    g_string_free(trace, true);
    trace = NULL;
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qom/type-init", test_type_init_registered);
    g_test_add_func("/qom/class/inherit-vtable", test_class_inherit_vtable);
    g_test_add_func("/qom/class/base-init", test_class_base_init);
    g_test_add_func("/qom/class/names-parents", test_class_names_and_parents);
    g_test_add_func("/qom/class/abstract", test_class_abstract);
    g_test_add_func("/qom/cast/up-down", test_cast_up_and_down);
    g_test_add_func("/qom/cast/fail-null", test_cast_fail_returns_null);
    g_test_add_func("/qom/cast/name-not-interned",
                    test_cast_name_not_interned);
    g_test_add_func("/qom/cast/assert-aborts", test_cast_assert_aborts);
    g_test_add_func("/qom/cast/class-assert-aborts",
                    test_class_cast_assert_aborts);
    g_test_add_func("/qom/new/abstract-aborts", test_new_abstract_aborts);
    g_test_add_func("/qom/new/unknown-aborts", test_new_unknown_aborts);
    g_test_add_func("/qom/new/with-type", test_new_with_type);
    g_test_add_func("/qom/life/init-order", test_init_order);
    g_test_add_func("/qom/life/finalize-order", test_finalize_order);
    g_test_add_func("/qom/life/refcount", test_refcount);
    g_test_add_func("/qom/life/autoptr", test_autoptr);
    g_test_add_func("/qom/life/initialize-in-place",
                    test_initialize_in_place);
    g_test_add_func("/qom/life/initialize-too-small",
                    test_initialize_too_small_aborts);
    g_test_add_func("/qom/register/copies-info", test_register_copies_info);
    g_test_add_func("/qom/register/twice-aborts",
                    test_register_twice_aborts);
    g_test_add_func("/qom/register/unknown-parent",
                    test_unknown_parent_aborts);
    g_test_add_func("/qom/register/cyclic-parent",
                    test_cyclic_parent_aborts);
    g_test_add_func("/qom/threads/class-once-refs",
                    test_threads_class_once_and_refs);
    return g_test_run();
}
