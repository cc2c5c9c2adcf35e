# SPDX-License-Identifier: MIT
# Cortex-M firmware build (GNU make). Invoked by firmware/Makefile (automake) with
#   srcdir=<firmware source dir> top_srcdir=<project source dir> ARM_CC=arm-none-eabi-gcc
# and usable by hand:  make -f firmware/firmware.mk srcdir=firmware top_srcdir=. ARM_CC=arm-none-eabi-gcc
# Everything is written under $(O) (default: build/ in the current directory), never to srcdir.
#
# Targets: all (every board's images + core size reports), size, check-heap, flash BOARD=...,
#          qemu BOARD=... (run the test image), clean.

srcdir ?= .
top_srcdir ?= ..
ARM_CC ?= arm-none-eabi-gcc
QEMU_ARM ?= qemu-system-arm
OPENOCD ?= openocd
O ?= build
WARN_CFLAGS ?= -Wall -Wextra -Werror

# Quiet like automake's silent rules; V=1 shows the commands.
ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-8s %s\n'
endif

CROSS := $(patsubst %gcc,%,$(ARM_CC))
OBJCOPY := $(CROSS)objcopy
SIZE := $(CROSS)size
NM := $(CROSS)nm

# ---- CPUs: core objects are built and sized for each ----
CPUS := m0plus m3 m4f m33
CPUFLAGS_m0 := -mcpu=cortex-m0 -mthumb -mfloat-abi=soft
CPUFLAGS_m0plus := -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft
CPUFLAGS_m3 := -mcpu=cortex-m3 -mthumb -mfloat-abi=soft
CPUFLAGS_m4f := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
CPUFLAGS_m33 := -mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16

# ---- boards ----
#   _CPU: one of CPUS; _HZ: core clock after reset; _IRQS: device interrupt lines (waker lists);
#   _QEMU: qemu -M machine that runs the test image (empty: not run); _OPENOCD: flash config.
BOARDS := mps2-an385 mps2-an386 mps2-an505 microbit stm32vldiscovery netduinoplus2
mps2-an385_CPU := m3
mps2-an385_HZ := 25000000
mps2-an385_IRQS := 32
mps2-an385_QEMU := mps2-an385
mps2-an385_UART := -DBOARD_UART_CMSDK=0x40004000u -DBOARD_UART_RX_IRQ=0 -DBOARD_UART_TX_IRQ=1
mps2-an386_UART := $(mps2-an385_UART)
mps2-an505_UART := -DBOARD_UART_CMSDK=0x50200000u -DBOARD_UART_RX_IRQ=33 -DBOARD_UART_TX_IRQ=32
stm32vldiscovery_UART := -DBOARD_UART_STM32=0x40013800u -DBOARD_UART_RX_IRQ=37 -DBOARD_UART_BRR=69 \
	-DBOARD_UART_RCC=0x40021018u -DBOARD_UART_RCC_BIT=14
netduinoplus2_UART := -DBOARD_UART_STM32=0x40011000u -DBOARD_UART_RX_IRQ=37 -DBOARD_UART_BRR=139 \
	-DBOARD_UART_RCC=0x40023844u -DBOARD_UART_RCC_BIT=4
# microbit: no UART driver (the nRF51 UART is not supported): the console builds and never receives.
mps2-an386_CPU := m4f
mps2-an386_HZ := 25000000
mps2-an386_IRQS := 32
mps2-an386_QEMU := mps2-an386
# mps2-an386: the same board layer as AN385, with a Cortex-M4F
mps2-an386_BOARDSRC := mps2-an385
mps2-an505_CPU := m33
mps2-an505_HZ := 20000000
mps2-an505_IRQS := 64
mps2-an505_QEMU := mps2-an505
microbit_CPU := m0
microbit_HZ := 16000000
microbit_IRQS := 32
microbit_QEMU := microbit
stm32vldiscovery_CPU := m3
stm32vldiscovery_HZ := 8000000
stm32vldiscovery_IRQS := 61
stm32vldiscovery_QEMU := stm32vldiscovery
stm32vldiscovery_OPENOCD := -f board/stm32vldiscovery.cfg
netduinoplus2_CPU := m4f
netduinoplus2_HZ := 16000000
netduinoplus2_IRQS := 82
netduinoplus2_QEMU := netduinoplus2
netduinoplus2_OPENOCD := -f interface/stlink.cfg -f target/stm32f4x.cfg

# ---- sources ----
# The portable future core is lib/core/*.c, compiled here unchanged (shared, not forked).
CORE_SRCS := $(sort $(wildcard $(top_srcdir)/lib/core/*.c)) \
	$(addprefix $(srcdir)/src/,waitlist.c task.c time.c irq.c event.c channel.c cancel.c) \
	$(addprefix $(srcdir)/arch/cortex-m/,cortexm.c systick.c)
ARCH_SRCS :=
BOARD_COMMON := $(srcdir)/boards/common/startup.c
TEST_SRCS := $(srcdir)/tests/fwtest.c $(srcdir)/tests/scenarios.c $(srcdir)/boards/common/semihost.c
APP_SRCS := $(srcdir)/apps/blink.c
CONSOLE_SRCS := $(srcdir)/apps/console.c $(srcdir)/drivers/uart.c

CFLAGS_COMMON := -std=gnu11 -Os -g -ffreestanding -fno-common -ffunction-sections -fdata-sections \
	$(WARN_CFLAGS) \
	-I$(srcdir)/include -I$(top_srcdir)/lib/include -I$(srcdir)/boards/common -I$(srcdir)/tests
LDFLAGS_COMMON := -nostartfiles -nostdlib -Wl,--gc-sections -L$(srcdir)/boards/common
LDLIBS := -Wl,--start-group -lc_nano -lgcc -Wl,--end-group
# No heap in any image: these symbols must not be linked (the check fails the build).
HEAP_SYMS := malloc free calloc realloc sbrk _sbrk _sbrk_r _malloc_r _free_r _calloc_r _realloc_r

ifeq ($(strip $(ARM_CC)),)
$(error firmware: arm-none-eabi-gcc not found: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)
endif

.PHONY: all size check-heap flash qemu clean
.SUFFIXES:
.DELETE_ON_ERROR:

objname = $(subst /,_,$(patsubst $(top_srcdir)/%,%,$(patsubst $(srcdir)/%,firmware/%,$(basename $(1))))).o

# ---- per-CPU core objects and size report ----
define cpu_rules
$(O)/core-$(1)/%.o:
	@mkdir -p $$(@D)
	$$(quiet) CC $$@
	$$(Q)$$(ARM_CC) $$(CPUFLAGS_$(1)) $$(CFLAGS_COMMON) -MMD -MP -c -o $$@ $$<
CORE_OBJS_$(1) := $$(foreach s,$$(CORE_SRCS),$(O)/core-$(1)/$$(call objname,$$(s)))
$$(foreach s,$$(CORE_SRCS),$$(eval $(O)/core-$(1)/$$(call objname,$$(s)): $$(s)))
$(O)/core-$(1).size: $$(CORE_OBJS_$(1))
	$$(Q)$$(SIZE) -t $$^ > $$@.tmp && mv $$@.tmp $$@
-include $$(CORE_OBJS_$(1):.o=.d)
endef
$(foreach c,$(CPUS),$(eval $(call cpu_rules,$(c))))

# ---- per-board images ----
define board_rules
B_$(1)_SRC := $(srcdir)/boards/$$(or $$($(1)_BOARDSRC),$(1))/board.c
B_$(1)_CFLAGS := $$(CPUFLAGS_$$($(1)_CPU)) $$(CFLAGS_COMMON) -DEXFW_NUM_IRQS=$$($(1)_IRQS) \
	-DBOARD_CPU_HZ=$$($(1)_HZ)u -DBOARD_NAME='"$(1)"' $$($(1)_UART)
B_$(1)_COMMON := $$(foreach s,$$(CORE_SRCS) $$(ARCH_SRCS) $$(BOARD_COMMON) $$(B_$(1)_SRC),\
	$(O)/$(1)/obj/$$(call objname,$$(s)))
B_$(1)_TEST := $$(foreach s,$$(TEST_SRCS),$(O)/$(1)/obj/$$(call objname,$$(s)))
B_$(1)_APP := $$(foreach s,$$(APP_SRCS),$(O)/$(1)/obj/$$(call objname,$$(s)))
B_$(1)_CONSOLE := $$(foreach s,$$(CONSOLE_SRCS),$(O)/$(1)/obj/$$(call objname,$$(s)))
$$(foreach s,$$(CORE_SRCS) $$(ARCH_SRCS) $$(BOARD_COMMON) $$(B_$(1)_SRC) $$(TEST_SRCS) $$(APP_SRCS) $$(CONSOLE_SRCS),\
	$$(eval $(O)/$(1)/obj/$$(call objname,$$(s)): $$(s)))
$(O)/$(1)/obj/%.o:
	@mkdir -p $$(@D)
	$$(quiet) CC $$@
	$$(Q)$$(ARM_CC) $$(B_$(1)_CFLAGS) -MMD -MP -c -o $$@ $$<
$(O)/$(1)/fwtest.elf: $$(B_$(1)_COMMON) $$(B_$(1)_TEST) $(srcdir)/boards/$(1)/board.ld $(srcdir)/boards/common/sections.ld
	$$(quiet) CCLD $$@
	$$(Q)$$(ARM_CC) $$(CPUFLAGS_$$($(1)_CPU)) $$(LDFLAGS_COMMON) -T$(srcdir)/boards/$(1)/board.ld \
		-Wl,-Map=$$(@:.elf=.map) -o $$@ $$(B_$(1)_COMMON) $$(B_$(1)_TEST) $$(LDLIBS)
	@$$(call no_heap,$$@)
$(O)/$(1)/blink.elf: $$(B_$(1)_COMMON) $$(B_$(1)_APP) $(srcdir)/boards/$(1)/board.ld $(srcdir)/boards/common/sections.ld
	$$(quiet) CCLD $$@
	$$(Q)$$(ARM_CC) $$(CPUFLAGS_$$($(1)_CPU)) $$(LDFLAGS_COMMON) -T$(srcdir)/boards/$(1)/board.ld \
		-Wl,-Map=$$(@:.elf=.map) -o $$@ $$(B_$(1)_COMMON) $$(B_$(1)_APP) $$(LDLIBS)
	@$$(call no_heap,$$@)
$(O)/$(1)/console.elf: $$(B_$(1)_COMMON) $$(B_$(1)_CONSOLE) $(srcdir)/boards/$(1)/board.ld $(srcdir)/boards/common/sections.ld
	$$(quiet) CCLD $$@
	$$(Q)$$(ARM_CC) $$(CPUFLAGS_$$($(1)_CPU)) $$(LDFLAGS_COMMON) -T$(srcdir)/boards/$(1)/board.ld \
		-Wl,-Map=$$(@:.elf=.map) -o $$@ $$(B_$(1)_COMMON) $$(B_$(1)_CONSOLE) $$(LDLIBS)
	@$$(call no_heap,$$@)
$(O)/$(1)/size.txt: $(O)/$(1)/fwtest.elf $(O)/$(1)/blink.elf $(O)/$(1)/console.elf
	$$(Q)$$(SIZE) $$^ > $$@.tmp && mv $$@.tmp $$@
-include $$(B_$(1)_COMMON:.o=.d) $$(B_$(1)_TEST:.o=.d) $$(B_$(1)_APP:.o=.d) $$(B_$(1)_CONSOLE:.o=.d)
BOARD_OUTPUTS += $$(foreach i,fwtest blink console,$$(addprefix $(O)/$(1)/$$(i),.elf .bin .hex)) $(O)/$(1)/size.txt
endef
$(foreach b,$(BOARDS),$(eval $(call board_rules,$(b))))

no_heap = if $(NM) $(1) | awk '{print $$NF}' | grep -qxE '$(subst $(eval) ,|,$(strip $(HEAP_SYMS)))'; then \
	echo "firmware: $(1) links a heap symbol ($(HEAP_SYMS)): not allowed" >&2; rm -f $(1); exit 1; fi

%.bin: %.elf
	$(quiet) OBJCOPY $@
	$(Q)$(OBJCOPY) -O binary $< $@
%.hex: %.elf
	$(quiet) OBJCOPY $@
	$(Q)$(OBJCOPY) -O ihex $< $@

all: $(BOARD_OUTPUTS) $(O)/size-report.txt

$(O)/size-report.txt: $(foreach c,$(CPUS),$(O)/core-$(c).size) $(foreach b,$(BOARDS),$(O)/$(b)/size.txt)
	@{ for c in $(CPUS); do echo "== executor core, $$c, -Os (text=flash, data+bss=RAM) =="; \
	   cat $(O)/core-$$c.size; done; \
	   for b in $(BOARDS); do echo "== board $$b =="; cat $(O)/$$b/size.txt; done; } > $@.tmp && mv $@.tmp $@
	@echo "firmware: size report in $@"

size: $(O)/size-report.txt
	@cat $<

check-heap: $(filter %.elf,$(BOARD_OUTPUTS))
	@for f in $^; do $(call no_heap,$$f); done; echo "firmware: no heap symbol in any image"

# make flash BOARD=stm32vldiscovery [IMAGE=blink|fwtest]: program, verify, reset with openocd.
override IMAGE := $(or $(IMAGE),blink)
flash:
	@test -n "$(BOARD)" || { echo "firmware: say which board: make flash BOARD=<$(strip $(foreach b,$(BOARDS),$(if $($(b)_OPENOCD),$(b))))>" >&2; exit 2; }
	@test -n "$($(BOARD)_OPENOCD)" || { echo "firmware: board '$(BOARD)' cannot be flashed with openocd (flashable: $(strip $(foreach b,$(BOARDS),$(if $($(b)_OPENOCD),$(b)))))" >&2; exit 2; }
	@command -v $(OPENOCD) >/dev/null 2>&1 || { echo "firmware: openocd not found: apt-get install openocd" >&2; exit 2; }
	$(MAKE) -f $(firstword $(MAKEFILE_LIST)) srcdir=$(srcdir) top_srcdir=$(top_srcdir) ARM_CC=$(ARM_CC) O=$(O) $(O)/$(BOARD)/$(IMAGE).elf
	$(OPENOCD) $($(BOARD)_OPENOCD) -c "program $(O)/$(BOARD)/$(IMAGE).elf verify reset exit"

# make qemu BOARD=mps2-an385 [QEMU_FLAGS='-icount shift=0']: run the test image (result = exit
# status). With -icount shift=0 virtual time advances 1 ns per instruction, which makes the
# latency the image prints deterministic (docs/firmware.md).
qemu: $(O)/$(BOARD)/fwtest.elf
	@test -n "$($(BOARD)_QEMU)" || { echo "firmware: board '$(BOARD)' has no QEMU machine" >&2; exit 2; }
	timeout 60 $(QEMU_ARM) -M $($(BOARD)_QEMU) $(QEMU_FLAGS) -nographic -monitor none -serial none \
		-semihosting-config enable=on,target=native -kernel $<

clean:
	rm -rf $(O)
