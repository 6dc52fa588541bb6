"""Training the chart model of `trade_analysis.analysis.chart_model`: corpus, network, export."""
