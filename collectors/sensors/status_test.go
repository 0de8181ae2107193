package sensors

import "testing"

func TestJudge(t *testing.T) {
	temp := hysteresis{absolute: 2000}
	volt := hysteresis{percent: 2}
	limits := func(lcrit, min, max, crit int64) reading {
		return reading{limits: [numLimits]int64{lcrit, min, max, crit}, has: [numLimits]bool{lcrit != 0, min != 0, max != 0, crit != 0}}
	}
	with := func(r reading, value int64) reading { r.value = value; return r }
	alarmed := func(r reading, a alarm) reading { r.alarms[a] = true; return r }
	tempLimits := limits(0, 0, 80000, 95000)
	voltLimits := limits(1000, 1100, 1300, 1400)
	tests := []struct {
		name   string
		r      reading
		prev   status
		h      hysteresis
		want   status
		reason string // the limit or alarm named, "" for none
	}{
		{"inside", with(tempLimits, 45000), statusNormal, temp, statusNormal, ""},
		{"at max", with(tempLimits, 80000), statusNormal, temp, statusNormal, ""},
		{"above max", with(tempLimits, 80001), statusNormal, temp, statusMarginal, "max"},
		{"above crit", with(tempLimits, 95001), statusNormal, temp, statusCritical, "crit"},
		{"held marginal", with(tempLimits, 78001), statusMarginal, temp, statusMarginal, "max"},
		{"released marginal", with(tempLimits, 78000), statusMarginal, temp, statusNormal, ""},
		{"held critical", with(tempLimits, 93001), statusCritical, temp, statusCritical, "crit"},
		{"critical to marginal", with(tempLimits, 93000), statusCritical, temp, statusMarginal, "max"},
		{"critical to normal", with(tempLimits, 70000), statusCritical, temp, statusNormal, ""},
		{"no hold after failed", with(tempLimits, 79000), statusFailed, temp, statusNormal, ""},
		{"no hold after unknown", with(tempLimits, 79000), statusUnknown, temp, statusNormal, ""},
		{"below min", with(voltLimits, 1099), statusNormal, volt, statusMarginal, "min"},
		{"below lcrit", with(voltLimits, 999), statusNormal, volt, statusCritical, "lcrit"},
		{"held low: 2% of 1100 is 22", with(voltLimits, 1121), statusMarginal, volt, statusMarginal, "min"},
		{"released low", with(voltLimits, 1122), statusMarginal, volt, statusNormal, ""},
		{"held low critical: 2% of 1000 is 20", with(voltLimits, 1019), statusCritical, volt, statusCritical, "lcrit"},
		{"zero upper limits are unset", with(limits(0, 0, 0, 0), 12000), statusNormal, volt, statusNormal, ""},
		{"negative rail inside", with(limits(0, -13200, -10800, 0), -12000), statusNormal, volt, statusNormal, ""},
		{"negative rail low", with(limits(0, -13200, -10800, 0), -13300), statusNormal, volt, statusMarginal, "min"},
		{"alarm", alarmed(with(tempLimits, 45000), alarmAny), statusNormal, temp, statusMarginal, "alarm"},
		{"max alarm", alarmed(with(tempLimits, 45000), alarmHigh), statusNormal, temp, statusMarginal, "max_alarm"},
		{"crit alarm", alarmed(with(tempLimits, 45000), alarmCrit), statusNormal, temp, statusCritical, "crit_alarm"},
		{"lcrit alarm", alarmed(with(tempLimits, 45000), alarmLowCrit), statusNormal, temp, statusCritical, "lcrit_alarm"},
		{"limit named before alarm", alarmed(with(tempLimits, 96000), alarmCrit), statusNormal, temp, statusCritical, "crit"},
		{"failure wins", reading{value: 99000, failure: "fault"}, statusNormal, temp, statusFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judge(tt.r, tt.prev, tt.h)
			reason := ""
			switch {
			case v.crossed:
				reason = limitFiles[v.limit]
			case v.alarmed:
				reason = alarmFiles[v.alarm]
			}
			if v.status != tt.want || reason != tt.reason {
				t.Errorf("judge = %s (%q), want %s (%q)", v.status, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestJudgeSupply(t *testing.T) {
	tests := []struct {
		name   string
		r      supplyReading
		want   status
		detail string
	}{
		{"mains online good", supplyReading{typ: "Mains", online: "1", health: "Good"}, statusNormal, "online, health Good"},
		{"mains offline", supplyReading{typ: "Mains", online: "0"}, statusCritical, "offline"},
		{"ups offline", supplyReading{typ: "UPS", online: "0", status: "Discharging"}, statusCritical, "offline, discharging"},
		{"usb offline is unplugged", supplyReading{typ: "USB", online: "0"}, statusNormal, "no status reported"},
		{"overheat", supplyReading{typ: "Mains", online: "1", health: "Overheat"}, statusCritical, "online, health Overheat"},
		{"over voltage", supplyReading{typ: "Mains", health: "Over voltage"}, statusCritical, "health Over voltage"},
		{"cold", supplyReading{typ: "Battery", health: "Cold"}, statusCritical, "health Cold"},
		{"warm", supplyReading{typ: "Battery", health: "Warm"}, statusMarginal, "health Warm"},
		{"dead", supplyReading{typ: "Mains", online: "0", health: "Dead"}, statusFailed, "offline, health Dead"},
		{"unspecified failure", supplyReading{typ: "Mains", online: "1", health: "Unspecified failure"}, statusFailed, "online, health Unspecified failure"},
		{"health unknown alone", supplyReading{typ: "Mains", health: "Unknown"}, statusUnknown, "health Unknown"},
		{"health unknown but online", supplyReading{typ: "Mains", online: "1", health: "Unknown"}, statusNormal, "online"},
		{"new health word ignored", supplyReading{typ: "Mains", online: "1", health: "Sparkling"}, statusNormal, "online"},
		{"battery discharging", supplyReading{typ: "Battery", status: "Discharging"}, statusMarginal, "discharging"},
		{"battery charging", supplyReading{typ: "Battery", status: "Charging"}, statusNormal, "charging"},
		{"battery low", supplyReading{typ: "Battery", status: "Discharging", capacityLevel: "Low"}, statusMarginal, "discharging, capacity low"},
		{"battery critical", supplyReading{typ: "Battery", status: "Discharging", capacityLevel: "Critical"}, statusCritical, "discharging, capacity critical"},
		{"garbled", supplyReading{typ: "Mains", failure: `bad value "x" in online`}, statusFailed, `bad value "x" in online`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, detail, _ := judgeSupply(tt.r)
			if st != tt.want || detail != tt.detail {
				t.Errorf("judgeSupply = %s %q, want %s %q", st, detail, tt.want, tt.detail)
			}
		})
	}
}

func TestParseAttribute(t *testing.T) {
	tests := []struct {
		file   string
		ok     bool
		kind   kind
		number int
		attr   string
	}{
		{"temp1_input", true, kindTemp, 1, "input"},
		{"temp12_crit_alarm", true, kindTemp, 12, "crit_alarm"},
		{"fan3_min", true, kindFan, 3, "min"},
		{"in0_input", true, kindVoltage, 0, "input"},
		{"curr2_lcrit", true, kindCurrent, 2, "lcrit"},
		{"power1_average", true, kindPower, 1, "average"},
		{"intrusion0_alarm", false, 0, 0, ""},
		{"pwm1", false, 0, 0, ""},
		{"name", false, 0, 0, ""},
		{"temp1", false, 0, 0, ""},
		{"temp_input", false, 0, 0, ""},
		{"uevent", false, 0, 0, ""},
	}
	for _, tt := range tests {
		k, n, attr, ok := parseAttribute(tt.file)
		if ok != tt.ok || ok && (k != tt.kind || n != tt.number || attr != tt.attr) {
			t.Errorf("parseAttribute(%q) = %d %d %q %v, want %d %d %q %v", tt.file, k, n, attr, ok, tt.kind, tt.number, tt.attr, tt.ok)
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"45000", 45000, true}, {"-12100", -12100, true}, {"+5", 5, true},
		{"", 0, false}, {"-", 0, false}, {"4.5", 0, false}, {"1e3", 0, false}, {"0x10", 0, false},
		{"999999999999999999", 999999999999999999, true}, {"9999999999999999999", 0, false},
	}
	for _, tt := range tests {
		if got, ok := parseInt([]byte(tt.in)); got != tt.want || ok != tt.ok {
			t.Errorf("parseInt(%q) = %d %v, want %d %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestChipIdentity(t *testing.T) {
	tests := []struct{ entry, target, name, want string }{
		{"hwmon2", "../../devices/platform/coretemp.0/hwmon/hwmon2", "coretemp", "devices/platform/coretemp.0/coretemp"},
		{"hwmon5", "../../devices/platform/coretemp.0/hwmon/hwmon5", "coretemp", "devices/platform/coretemp.0/coretemp"},
		{"hwmon0", "", "acpitz", "hwmon0/acpitz"},
		{"hwmon1", "/elsewhere/chip", "x", "elsewhere/chip/x"},
	}
	for _, tt := range tests {
		if got := chipIdentity(tt.entry, tt.target, tt.name); got != tt.want {
			t.Errorf("chipIdentity(%q, %q, %q) = %q, want %q", tt.entry, tt.target, tt.name, got, tt.want)
		}
	}
}

func TestIPMIMapping(t *testing.T) {
	tests := []struct {
		chip string
		kind kind
		want *ipmiPair
	}{
		{"nct6775", kindFan, ipmiFan},
		{"coretemp", kindTemp, ipmiCPU},
		{"k10temp", kindTemp, ipmiCPU},
		{"zenpower", kindTemp, ipmiCPU},
		{"cpu_thermal", kindTemp, ipmiCPU},
		{"jc42", kindTemp, ipmiMemory},
		{"spd5118", kindTemp, ipmiMemory},
		{"dimm_temp", kindTemp, ipmiMemory},
		{"zenpower", kindVoltage, nil},
		{"nct6775", kindTemp, nil},
		{"ina3221", kindCurrent, nil},
	}
	for _, tt := range tests {
		if got := ipmiForHwmon(tt.chip, tt.kind); got != tt.want {
			t.Errorf("ipmiForHwmon(%q, %d) = %v, want %v", tt.chip, tt.kind, got, tt.want)
		}
	}
}
