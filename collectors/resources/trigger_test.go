package resources

import (
	"slices"
	"testing"
)

func TestTrigger(t *testing.T) {
	th := threshold{rising: 90, falling: 80}
	const (
		R = rising
		F = falling
		_ = noEdge
	)
	tests := []struct {
		name    string
		samples []float64
		want    []edge
	}{
		{"rising once", []float64{50, 95}, []edge{noEdge, R}},
		{"no repeat while above", []float64{50, 95, 99, 100, 91}, []edge{noEdge, R, noEdge, noEdge, noEdge}},
		{"falling once", []float64{95, 70, 60, 10}, []edge{R, F, noEdge, noEdge}},
		{"re-arm", []float64{95, 70, 95, 70}, []edge{R, F, R, F}},
		{"startup below falling is silent", []float64{10, 20, 79}, []edge{noEdge, noEdge, noEdge}},
		{"startup between is silent", []float64{85}, []edge{noEdge}},
		{"startup above rising sends rising", []float64{99}, []edge{R}},
		{"equal to rising fires", []float64{50, 90}, []edge{noEdge, R}},
		{"just below rising does not", []float64{50, 89.99}, []edge{noEdge, noEdge}},
		{"equal to falling fires", []float64{95, 80}, []edge{R, F}},
		{"just above falling does not", []float64{95, 80.01}, []edge{R, noEdge}},
		{"oscillating between falling and rising after rising", []float64{95, 85, 89, 81, 89.9, 80.5}, []edge{R, noEdge, noEdge, noEdge, noEdge, noEdge}},
		{"oscillating between falling and rising from startup", []float64{85, 81, 89, 82}, []edge{noEdge, noEdge, noEdge, noEdge}},
		{"falling needs falling, not below rising", []float64{95, 89, 95}, []edge{R, noEdge, noEdge}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr trigger
			var got []edge
			for _, v := range tc.samples {
				got = append(got, tr.observe(th, v))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("samples %v: edges %v, want %v", tc.samples, got, tc.want)
			}
		})
	}
}
