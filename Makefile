# Thin wrapper over Meson.  Every target first makes sure the Debian
# packages it needs are installed (as root it installs them; otherwise it
# prints the one apt-get line to run).

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
BUILD_FUZZ ?= build-fuzz
BUILD_BENCH ?= build-bench

BUILD_PKGS := gcc meson ninja-build pkg-config libglib2.0-dev liburing-dev \
              libgnutls28-dev zlib1g-dev libzstd-dev
TEST_PKGS  := socat gnutls-bin python3-websockets python3 \
              libunistring-dev iproute2 qemu-utils clang libclang-rt-14-dev
BENCH_PKGS := libuv1-dev qemu-utils fio

.PHONY: all build run check check-plain check-asan check-tsan bench deps \
        deps-test deps-bench clean

all: build

deps:
	@scripts/ensure-packages.sh $(BUILD_PKGS)

deps-test: deps
	@scripts/ensure-packages.sh $(BUILD_PKGS) $(TEST_PKGS)

deps-bench: deps
	@scripts/ensure-packages.sh $(BUILD_PKGS) $(BENCH_PKGS)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The main job on a built-in default: spindle-img bench on null-co://, then
# a raw image created, written and read back with spindle-io, and its info.
run: build
	@scripts/tour.sh $(BUILD)

# All tests: the unit tests, the unit tests again under ASan+UBSan, the
# multithreaded tests under ThreadSanitizer, and a bounded libFuzzer run of
# each fuzz target (clang).  Ends with "N passed, N failed".
check: deps-test
	@scripts/run-tests.sh $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_FUZZ)

check-plain: deps-test
	@scripts/run-tests.sh $(BUILD) "" ""

bench: deps-bench
	@test -f $(BUILD_BENCH)/build.ninja || \
	    meson setup $(BUILD_BENCH) --buildtype=release -Db_ndebug=true -Dbench=true
	ninja -C $(BUILD_BENCH)
	@scripts/run-bench.sh $(BUILD_BENCH)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_BENCH) $(BUILD_FUZZ)
