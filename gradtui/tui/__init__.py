"""The Textual front end. Never imports TensorFlow: it drives a lab Session from one engine thread."""
