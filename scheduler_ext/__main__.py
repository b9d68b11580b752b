from scheduler_ext.cli import main

raise SystemExit(main())
