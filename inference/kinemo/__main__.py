from kinemo.cli import main

raise SystemExit(main())
