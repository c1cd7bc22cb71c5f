// Package expr is the expression language of bumpserve's native fit models, such as
// "b1*(1-exp(-b2*x))".
//
// An expression uses the operators + - * / ^ (with ^ binding tighter than unary minus
// and grouping to the right, so -x^2 is -(x^2) and 2^3^2 is 2^9), parentheses, numbers
// like 1.5e-3, .5 and 2., the data variables and parameters named at compile time, the
// constant pi, and the functions exp, log, log10, sqrt, sin, cos, tan, asin, acos, atan,
// atan2, sinh, cosh, tanh, abs, pow, erf and erfc. Arithmetic follows Go's math package:
// NaN and Inf propagate and nothing panics.
//
// Compile turns an expression into a Program, which evaluates over whole arrays of
// points: a flat instruction list runs block by block, with sub-expressions of
// parameters only computed once per call. Deriv gives exact symbolic derivatives with
// respect to parameters, themselves Programs.
package expr
