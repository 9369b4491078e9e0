

	
€ 
€€€€€€À(8"€ €"
"€À€"* * 2x2inuse_space2bytes2inuse_objects2count2main2leak2/usr/bin/app2app.c2space2pid=4242H€€¨±ãŸçËZ	`€€ j
p