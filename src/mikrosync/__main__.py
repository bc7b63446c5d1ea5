from mikrosync.cli.main import main

main()
