package fit

import "math"

// sortedOrder returns the positions of x in ascending order of value, and
// the values in that order. It is an LSD radix sort on the values' bits,
// 16 at a time, carrying each position with its key: ranking millions of
// draws this way takes a few linear passes, where a comparison sort and
// a binary search for each draw's rank cost seconds in cache misses.
// Equal values (also -0 and +0) end up adjacent; x must hold no NaN,
// and fewer than 2³¹ values (positions are int32 to halve the memory).
func sortedOrder(x []float64) (order []int32, sorted []float64) {
	n := len(x)
	keys, keys2 := make([]uint64, n), make([]uint64, n)
	order, order2 := make([]int32, n), make([]int32, n)
	for i, v := range x {
		keys[i], order[i] = orderedBits(v), int32(i)
	}
	var count [1 << 16]int
	for shift := 0; shift < 64; shift += 16 {
		clear(count[:])
		for _, k := range keys {
			count[k>>shift&0xffff]++
		}
		if count[keys[0]>>shift&0xffff] == n {
			continue // every key has this digit: the pass would change nothing
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for i, k := range keys {
			d := k >> shift & 0xffff
			keys2[count[d]], order2[count[d]] = k, order[i]
			count[d]++
		}
		keys, keys2, order, order2 = keys2, keys, order2, order
	}
	sorted = make([]float64, n)
	for i, p := range order {
		sorted[i] = x[p]
	}
	return order, sorted
}

// orderedBits maps a float64 to a uint64 whose unsigned order is the
// value's order: flip every bit of a negative number, only the sign bit
// of a positive one. (-0 and +0 land next to each other, and callers
// group ties by ==, so they tie as they compare.)
func orderedBits(v float64) uint64 {
	b := math.Float64bits(v)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}
