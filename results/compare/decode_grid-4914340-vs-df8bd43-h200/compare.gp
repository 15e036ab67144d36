$V0 << EOD
EOD
$V1 << EOD
1 1.08397
20 1.00438
EOD
$V2 << EOD
2 1.04965
3 1.04993
4 1.05897
5 1.01821
6 1.01781
7 1.0776
8 1.02449
9 1.00711
10 1.02271
11 1.01718
12 1.01711
13 1.00637
14 1.02312
15 1.01397
16 1.00799
17 1.00893
18 1.00389
19 1.01484
21 1.00358
22 1.02562
23 1.01602
24 1.02726
25 1.02351
26 1.01999
27 1.01097
28 1.0273
29 1.00519
30 1.00647
31 1.00367
32 1.00373
33 1.00898
34 1.00382
35 1.00789
36 1.00929
37 1.01005
38 1.0094
39 1.01082
40 1.01306
41 1.01174
42 1.00605
43 1.00137
44 1.00442
45 1.00355
46 1.00624
47 1.00664
48 1.00543
49 1.00705
50 1.01256
51 1.0114
52 1.01238
53 1.01219
54 1.01133
55 1.01277
56 1.01289
57 1.00162
58 1.00184
59 1.00185
60 1.00116
61 1.00378
62 1.00269
63 1.00225
EOD
set title "B / A per configuration: A = 20261129-010407-4914340, B = 20261129-035836-df8bd43" noenhanced
set xlabel "configuration (in A's results.csv order; names in the table)"
set ylabel "B / A"
set logscale y 2
set grid
set key outside right top
set xrange [0:64]
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1200,600 font ",10"; set output "compare.png.tmp" } else { set terminal svg size 1200,600 dynamic font ",10"; set output "compare.svg.tmp" }
  plot 1 with lines lc rgb "black" title "B = A", 0.999181 with lines dt 2 lc rgb "#1f77b4" title "read ceilings A / B", $V0 using 1:2 with points pt 7 lc rgb "#2ca02c" title "faster", $V1 using 1:2 with points pt 7 lc rgb "#d62728" title "slower", $V2 using 1:2 with points pt 7 lc rgb "#7f7f7f" title "noise"
  set output
}
