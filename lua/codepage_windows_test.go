package lua

import "testing"

// TestConsoleEncodingNames: every code page's name, and the console's
// here, is one text.decode takes; 936 is the documents' GBK.
func TestConsoleEncodingNames(t *testing.T) {
	if codePages[936] != "gbk" {
		t.Fatalf("936 is %q", codePages[936])
	}
	for cp, name := range codePages {
		if _, err := lookupEncoding(name); err != nil {
			t.Errorf("code page %d: %v", cp, err)
		}
	}
	name := consoleEncoding()
	if _, err := lookupEncoding(name); err != nil {
		t.Fatalf("console encoding %q: %v", name, err)
	}
	t.Logf("console encoding %s", name)
}
