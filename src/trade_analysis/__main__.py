from trade_analysis.cli import main

main()
