package io.trillium.quant;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernels' vector width follows the JVM: 512 bits where it prefers 512, else 256. The surefire
 * executions {@code kernels-256} / {@code kernels-128} (quant's pom) run the kernel tests again under
 * {@code -XX:UseAVX=2} and {@code -XX:MaxVectorSize=16} and say which width they expect, so a run that
 * silently tested the default width again fails here.
 */
class VectorWidthTest {
    @Test
    void widthIsChosenFromThePreferredSpecies() {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        int bits = Kernels.vectorBitSize();
        assertEquals(preferred >= 512 ? 512 : 256, bits, "preferred species " + preferred + " bits");
        String expected = System.getProperty("trillium.test.vectorBits");
        if (expected != null) {
            assertEquals(Integer.parseInt(expected), bits, "this surefire execution runs the kernels at " + expected + " bits");
        }
        assertTrue(Kernels.vectorStatus().startsWith(bits + "-bit vectors"), Kernels.vectorStatus());
        System.out.println("kernels: " + Kernels.vectorStatus());
    }
}
