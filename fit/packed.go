package fit

import (
	"encoding/binary"
	"fmt"
	"math"
)

// packedRows holds equal-width rows of floats as one little-endian block
// of bits. gob writes a [][]float64 float by float, row by row (about
// 25 MB/s); a []byte it copies whole, which keeps a checkpoint of
// millions of DREAM draws cheap enough to write every minute.
type packedRows struct {
	Width, Rows int
	Bits        []byte
}

func packRows(rows [][]float64, width int) packedRows {
	p := packedRows{Width: width, Rows: len(rows), Bits: make([]byte, 0, 8*width*len(rows))}
	for _, r := range rows {
		for _, v := range r {
			p.Bits = binary.LittleEndian.AppendUint64(p.Bits, math.Float64bits(v))
		}
	}
	return p
}

// unpack returns the rows, each a full slice of its own (a row cannot
// grow into the next).
func (p packedRows) unpack(width int) ([][]float64, error) {
	if p.Rows == 0 {
		return nil, nil
	}
	if p.Width != width || p.Rows < 0 || len(p.Bits) != 8*p.Width*p.Rows {
		return nil, fmt.Errorf("packed rows of width %d, %d bytes for %d rows; want width %d", p.Width, len(p.Bits), p.Rows, width)
	}
	flat := make([]float64, p.Width*p.Rows)
	for i := range flat {
		flat[i] = math.Float64frombits(binary.LittleEndian.Uint64(p.Bits[8*i:]))
	}
	rows := make([][]float64, p.Rows)
	for i := range rows {
		rows[i] = flat[i*width : (i+1)*width : (i+1)*width]
	}
	return rows, nil
}
