"""The study: sweeps of runs over seeds and slicing rates (`sweep`, `launch`), the paper's tables with their
uncertainty (`tables`, `significance`), and the paper's published values (`paper`)."""
